//! Legacy raw routes: plain actix-web handlers mounted under `/integration`, which push raw
//! items to Port themselves through [`LiveApplier`](super::LiveApplier)'s `register_raw` and
//! `unregister_raw` (reached as `web::Data<LiveApplier>`).

use actix_web::web;

/// Routes an integration mounts under `/integration`, submitted with [`crate::raw_routes!`].
#[derive(Debug, Clone, Copy)]
pub struct RawRoutesRegistration {
    /// The function's name.
    pub name: &'static str,
    /// Source file of the registration.
    pub file: &'static str,
    /// Source line of the registration.
    pub line: u32,
    /// Adds the routes (paths relative to `/integration`).
    pub configure: fn(&mut web::ServiceConfig),
}

inventory::collect!(RawRoutesRegistration);

/// Registers a function `fn(&mut actix_web::web::ServiceConfig)` whose routes are mounted under
/// `/integration`, next to the webhook processors' paths.
///
/// ```
/// use actix_web::{HttpResponse, web};
/// use ocean::live_events::LiveApplier;
///
/// async fn push(applier: web::Data<LiveApplier>, body: web::Json<serde_json::Value>) -> HttpResponse {
///     match applier.register_raw("issue", vec![body.into_inner()]).await {
///         Ok(entities) => HttpResponse::Ok().json(serde_json::json!({"upserted": entities.len()})),
///         Err(e) => HttpResponse::BadGateway().json(serde_json::json!({"message": e.to_string()})),
///     }
/// }
///
/// fn routes(cfg: &mut web::ServiceConfig) {
///     cfg.route("/legacy", web::post().to(push));
/// }
///
/// ocean::raw_routes!(routes);
/// ```
#[macro_export]
macro_rules! raw_routes {
    ($configure:path) => {
        $crate::__private::inventory::submit! {
            $crate::live_events::RawRoutesRegistration {
                name: ::core::stringify!($configure),
                file: ::core::file!(),
                line: ::core::line!(),
                configure: $configure,
            }
        }
    };
}
