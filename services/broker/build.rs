// `sqlx::migrate!` embeds the migration files, but cargo does not know it reads them: without
// this, a migration added on its own would not be compiled in until the crate changed otherwise.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
