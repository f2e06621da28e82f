//! Passwords: argon2id with OWASP's parameters (19 MiB, t=2, p=1), hashed
//! and verified on blocking threads; 8 to 128 characters. A password is
//! never logged, stored or returned: only its hash is.

use argon2::{Algorithm, Argon2, Params, PasswordHasher, PasswordVerifier, Version};
use tokio::sync::OnceCell;

use super::tokens::new_token;

pub const MIN_PASSWORD_CHARS: usize = 8;
pub const MAX_PASSWORD_CHARS: usize = 128;

fn argon2() -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::DEFAULT)
}

/// Checks a new password's length (in characters), before any hashing.
pub fn check_new_password(password: &str) -> Result<(), String> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        Err(format!("use at least {MIN_PASSWORD_CHARS} characters"))
    } else if chars > MAX_PASSWORD_CHARS {
        Err(format!("use at most {MAX_PASSWORD_CHARS} characters"))
    } else {
        Ok(())
    }
}

pub async fn hash_password(password: String) -> anyhow::Result<String> {
    tokio::task::spawn_blocking(move || {
        argon2()
            .hash_password(password.as_bytes())
            .map(|hash| hash.to_string())
            .map_err(|error| anyhow::anyhow!("hashing a password: {error}"))
    })
    .await?
}

/// A hash of a password nobody knows, verified against when the email is
/// unknown so that both failures take the same time.
static DUMMY_HASH: OnceCell<String> = OnceCell::const_new();

/// Verifies `password` against `hash`, or against a dummy hash (always
/// false, same cost) when there is no account.
pub async fn verify_password(password: String, hash: Option<String>) -> anyhow::Result<bool> {
    let (hash, real) = match hash {
        Some(hash) => (hash, true),
        None => {
            let dummy = DUMMY_HASH
                .get_or_try_init(|| hash_password(new_token()))
                .await?;
            (dummy.clone(), false)
        }
    };
    let matches = tokio::task::spawn_blocking(move || {
        argon2()
            .verify_password(password.as_bytes(), hash.as_str())
            .is_ok()
    })
    .await?;
    Ok(matches && real)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_length_rules() {
        assert!(check_new_password("short").is_err());
        assert!(check_new_password("eightchr").is_ok());
        assert!(check_new_password(&"é".repeat(128)).is_ok());
        assert!(check_new_password(&"x".repeat(129)).is_err());
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn hashes_are_argon2id_with_owasp_parameters_and_verify() {
        let hash = hash_password("correct horse".to_owned()).await.unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(
            verify_password("correct horse".into(), Some(hash.clone()))
                .await
                .unwrap()
        );
        assert!(
            !verify_password("wrong horse".into(), Some(hash))
                .await
                .unwrap()
        );
        assert!(!verify_password("correct horse".into(), None).await.unwrap());
    }
}
