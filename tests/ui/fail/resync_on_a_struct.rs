#[ocean::on_resync(kind = "person")]
struct Persons;

fn main() {
    let _ = Persons;
}
