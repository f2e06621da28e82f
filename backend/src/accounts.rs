//! Account administration from the command line (`bookstore create-staff`),
//! with the API's password rules and hashing (`auth`). Never reads a
//! password from the command line itself, and ends the account's sessions
//! whenever it changes the role or password.

use std::io::{BufRead, IsTerminal};

use anyhow::Context;

use crate::auth;
use crate::cache::Cache;
use crate::db::{self, Db};

/// The new password: asked twice at a terminal (not echoed), else the first
/// line of standard input.
pub fn read_password() -> anyhow::Result<String> {
    let password = if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("Password: ")?;
        let again = rpassword::prompt_password("Password again: ")?;
        anyhow::ensure!(first == again, "the passwords differ");
        first
    } else {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        line.trim_end_matches(['\r', '\n']).to_owned()
    };
    auth::check_new_password(&password)
        .map_err(|message| anyhow::anyhow!("password: {message}"))?;
    Ok(password)
}

pub async fn create_staff(
    db: &Db,
    // Sessions are no longer cached (Postgres answers every lookup); the
    // parameter stays so the callers need not change.
    _cache: &Cache,
    email: &str,
    name: &str,
    password: String,
) -> anyhow::Result<String> {
    let email = email.trim();
    anyhow::ensure!(
        email.contains('@') && !email.chars().any(char::is_whitespace),
        "{email:?} is not an email address"
    );
    let hash = auth::hash_password(password).await?;
    let mut conn = db.primary().await.context("connecting to Postgres")?;
    let (user, created) = db::users::upsert_staff(&mut conn, email, name.trim(), &hash).await?;
    // Sessions started under the old role or password end now.
    let ended = db::sessions::delete_others(&mut conn, user.id, None).await?;
    let ended = ended.len();
    Ok(if created {
        format!("created staff account {}", user.email)
    } else {
        format!(
            "{} is now staff with the new password ({ended} sessions ended)",
            user.email
        )
    })
}
