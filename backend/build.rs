// Embeds the mail templates (backend/templates/mail) in the binary.
fn main() {
    minijinja_embed::embed_templates!("templates/mail");
}
