//! A deserializer that makes up a neutral value of whatever shape a type asks for (zero, empty
//! string, empty list, the first enum variant, every field of a struct).
//!
//! It has two uses. When a required setting is missing, it stands in for that setting so the
//! deserialization can go on and find the next missing one (every missing variable is reported
//! at once). And, with a [`Recorder`], it walks the settings structs through serde to learn
//! which keys they read, so the list of known names comes from the structs themselves and
//! cannot drift from them.

use super::de::DeError;
use super::tree::Segment;
use serde::de::{self, DeserializeSeed, EnumAccess, MapAccess, SeqAccess, VariantAccess, Visitor};
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};

/// Nesting deeper than this is refused, so a recursive type cannot recurse forever.
const MAX_DEPTH: usize = 16;

/// What a type reads at one key path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Shape {
    /// A struct with these fields.
    Struct(&'static [&'static str]),
    /// A map or free-form value: any key below is the type's own business.
    Open,
}

/// Collects the shapes a type asks for while a [`Placeholder`] walks it.
#[derive(Debug, Default)]
pub(crate) struct Recorder {
    shapes: RefCell<BTreeMap<Vec<String>, Shape>>,
    /// Fields left out of the walk (their placeholder value was refused by a validator).
    skip: BTreeSet<Vec<String>>,
}

impl Recorder {
    pub(crate) fn skipping(skip: BTreeSet<Vec<String>>) -> Self {
        Self {
            shapes: RefCell::default(),
            skip,
        }
    }

    pub(crate) fn into_shapes(self) -> BTreeMap<Vec<String>, Shape> {
        self.shapes.into_inner()
    }

    fn record(&self, path: &[Segment], shape: Shape) {
        if let Some(keys) = keys_of(path) {
            self.shapes.borrow_mut().entry(keys).or_insert(shape);
        }
    }
}

/// The keys of a path, or `None` when it goes through a list element.
pub(crate) fn keys_of(path: &[Segment]) -> Option<Vec<String>> {
    path.iter()
        .map(|segment| match segment {
            Segment::Key(key) => Some(key.clone()),
            Segment::Index(_) => None,
        })
        .collect()
}

/// The made-up value at `path`.
pub(crate) struct Placeholder<'r> {
    pub(crate) path: Vec<Segment>,
    pub(crate) recorder: Option<&'r Recorder>,
}

impl Placeholder<'_> {
    fn too_deep(&self) -> Option<DeError> {
        (self.path.len() > MAX_DEPTH).then(|| de::Error::custom("settings nest too deeply"))
    }
}

impl<'de> de::Deserializer<'de> for Placeholder<'_> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        if let Some(recorder) = self.recorder {
            recorder.record(&self.path, Shape::Open);
        }
        visitor.visit_unit()
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_bool(false)
    }

    fn deserialize_i8<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_i64(0)
    }
    fn deserialize_i16<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_i64(0)
    }
    fn deserialize_i32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_i64(0)
    }
    fn deserialize_i64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_i64(0)
    }
    fn deserialize_i128<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_i128(0)
    }
    fn deserialize_u8<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_u64(0)
    }
    fn deserialize_u16<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_u64(0)
    }
    fn deserialize_u32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_u64(0)
    }
    fn deserialize_u64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_u64(0)
    }
    fn deserialize_u128<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_u128(0)
    }
    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_f64(0.0)
    }
    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_f64(0.0)
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_char('_')
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_str("")
    }
    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_str("")
    }
    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_str("")
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_bytes(&[])
    }
    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_bytes(&[])
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        // Recording looks inside (an optional section still has known keys); standing in for
        // a missing value, "nothing" is the value least likely to be refused.
        if self.recorder.is_some() {
            if let Some(error) = self.too_deep() {
                return Err(error);
            }
            visitor.visit_some(self)
        } else {
            visitor.visit_none()
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_unit()
    }
    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        visitor.visit_unit()
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        if let Some(error) = self.too_deep() {
            return Err(error);
        }
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_seq(Nothing)
    }
    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        visitor.visit_seq(Nothing)
    }
    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        visitor.visit_seq(Nothing)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        if let Some(recorder) = self.recorder {
            recorder.record(&self.path, Shape::Open);
        }
        visitor.visit_map(Nothing)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        if let Some(error) = self.too_deep() {
            return Err(error);
        }
        if let Some(recorder) = self.recorder {
            recorder.record(&self.path, Shape::Struct(fields));
        }
        visitor.visit_map(Fields {
            fields: fields.iter(),
            pending: None,
            parent: self,
        })
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        match variants.first() {
            Some(name) => visitor.visit_enum(FirstVariant { name, parent: self }),
            None => Err(de::Error::custom("an enum without variants")),
        }
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_unit()
    }
}

/// An empty list or map.
struct Nothing;

impl<'de> SeqAccess<'de> for Nothing {
    type Error = DeError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        _seed: T,
    ) -> Result<Option<T::Value>, DeError> {
        Ok(None)
    }
}

impl<'de> MapAccess<'de> for Nothing {
    type Error = DeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        _seed: K,
    ) -> Result<Option<K::Value>, DeError> {
        Ok(None)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, _seed: V) -> Result<V::Value, DeError> {
        Err(de::Error::custom("a value was asked for before its key"))
    }
}

/// Every field of a struct, each with a placeholder value.
struct Fields<'r> {
    fields: std::slice::Iter<'static, &'static str>,
    pending: Option<&'static str>,
    parent: Placeholder<'r>,
}

fn child_path(parent: &[Segment], field: &str) -> Vec<Segment> {
    let mut path = parent.to_vec();
    path.push(Segment::Key(field.to_owned()));
    path
}

impl<'de> MapAccess<'de> for Fields<'_> {
    type Error = DeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DeError> {
        let (parent, recorder) = (&self.parent.path, self.parent.recorder);
        for field in self.fields.by_ref() {
            let skipped = recorder.is_some_and(|recorder| {
                keys_of(&child_path(parent, field))
                    .is_some_and(|keys| recorder.skip.contains(&keys))
            });
            if skipped {
                continue;
            }
            self.pending = Some(field);
            let name: de::value::StrDeserializer<'_, DeError> =
                de::IntoDeserializer::into_deserializer(*field);
            return seed.deserialize(name).map(Some);
        }
        Ok(None)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, DeError> {
        let Some(field) = self.pending.take() else {
            return Err(de::Error::custom("a value was asked for before its key"));
        };
        let path = child_path(&self.parent.path, field);
        seed.deserialize(Placeholder {
            path: path.clone(),
            recorder: self.parent.recorder,
        })
        .map_err(|e| e.at(&path, &serde_json::Value::Null))
    }
}

/// The first variant of an enum, with placeholder content.
struct FirstVariant<'r> {
    name: &'static str,
    parent: Placeholder<'r>,
}

impl<'de, 'r> EnumAccess<'de> for FirstVariant<'r> {
    type Error = DeError;
    type Variant = Placeholder<'r>;

    fn variant_seed<T: DeserializeSeed<'de>>(
        self,
        seed: T,
    ) -> Result<(T::Value, Placeholder<'r>), DeError> {
        let name: de::value::StrDeserializer<'_, DeError> =
            de::IntoDeserializer::into_deserializer(self.name);
        Ok((seed.deserialize(name)?, self.parent))
    }
}

impl<'de> VariantAccess<'de> for Placeholder<'_> {
    type Error = DeError;

    fn unit_variant(self) -> Result<(), DeError> {
        Ok(())
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, DeError> {
        if let Some(error) = self.too_deep() {
            return Err(error);
        }
        seed.deserialize(self)
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_seq(Nothing)
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        de::Deserializer::deserialize_struct(self, "", fields, visitor)
    }
}
