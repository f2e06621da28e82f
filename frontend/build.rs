// Embeds the templates in the binary (release builds read them from here;
// debug builds reload them from disk on every request).
fn main() {
    minijinja_embed::embed_templates!("templates");
    println!("cargo:rerun-if-changed=queries");
    println!("cargo:rerun-if-changed=../schema.graphql");
}
