//! "Buy again" on an order's page: the backend puts the order's books that
//! can still be bought into the visitor's cart (`buyAgain`), and the cart
//! page says what was added and which books were not (no longer sold, out
//! of stock, fewer copies in stock, a full cart). Whether the visitor may
//! see the order is the backend's answer; another's order is "not found".

use axum::extract::{Form, Path, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::cart::cart_id;
use super::links::{order_path, path_safe, token_safe};
use super::operations::{BuyAgain, buy_again as operation};
use crate::pages::page::{api_error_page, not_found_page};
use crate::pages::params::given;
use crate::session::Visitor;
use crate::state::AppState;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct BuyAgainForm {
    csrf: String,
    /// A guest order's access token (its page's address carries it).
    token: String,
}

/// What the cart page says after buying again.
fn summary(lines: &[operation::BuyAgainBuyAgainLines]) -> String {
    use operation::BuyAgainProblem as Problem;
    let added: i64 = lines.iter().map(|line| line.cart_quantity).sum();
    let mut skipped = Vec::new();
    let mut fewer = Vec::new();
    for line in lines {
        let why = match &line.problem {
            None => continue,
            Some(Problem::UNAVAILABLE) => "no longer sold",
            Some(Problem::OUT_OF_STOCK) => "out of stock",
            Some(Problem::CART_FULL) => "your cart holds the most books it can",
            Some(Problem::INSUFFICIENT_STOCK) => {
                fewer.push(format!(
                    "{} ({} of {})",
                    line.title, line.cart_quantity, line.ordered_quantity
                ));
                continue;
            }
            Some(Problem::Other(_)) => "cannot be added",
        };
        skipped.push(format!("{} ({why})", line.title));
    }
    let mut message = if skipped.len() == lines.len() {
        "None of this order's books can be bought now.".to_owned()
    } else {
        format!("This order's books are in your cart ({added} in all).")
    };
    if !fewer.is_empty() {
        message.push_str(&format!(
            " Fewer copies are in stock of: {}.",
            fewer.join(", ")
        ));
    }
    if !skipped.is_empty() && skipped.len() < lines.len() {
        message.push_str(&format!(" Not added: {}.", skipped.join("; ")));
    } else if !skipped.is_empty() {
        message.push_str(&format!(" {}.", skipped.join("; ")));
    }
    message
}

pub async fn buy_again(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(number): Path<String>,
    Form(form): Form<BuyAgainForm>,
) -> Response {
    if !visitor.csrf_ok(&form.csrf) {
        return visitor.csrf_failure(&state);
    }
    if !path_safe(&number) {
        return not_found_page(&state);
    }
    let token = given(&form.token).filter(|token| token_safe(token));
    let variables = operation::Variables {
        input: operation::BuyAgainInput {
            number: number.clone(),
            access_token: token.clone(),
            cart_id: cart_id(&visitor),
        },
    };
    let payload = match state
        .api
        .run::<BuyAgain>(variables, visitor.session.as_deref())
        .await
    {
        Ok(data) => data.buy_again,
        Err(error) => return api_error_page(&state, &error),
    };
    let Some(cart) = payload.cart else {
        // The order is not the visitor's (or a guest's cart went away).
        return visitor
            .redirect(
                &order_path(&number, token.as_deref()),
                "This order's books could not be added to your cart.",
            )
            .into_response();
    };
    let redirect = visitor.redirect("/cart", &summary(&payload.lines));
    if visitor.session.is_none() {
        redirect.cart(Some(&cart.id)).into_response()
    } else {
        redirect.into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::operation::{BuyAgainBuyAgainLines as Line, BuyAgainProblem as Problem};
    use super::*;

    fn line(title: &str, ordered: i64, added: i64, problem: Option<Problem>) -> Line {
        Line {
            title: title.to_owned(),
            ordered_quantity: ordered,
            cart_quantity: added,
            problem,
        }
    }

    #[test]
    fn the_message_names_what_was_left_out() {
        let message = summary(&[
            line("Emma", 2, 2, None),
            line("Persuasion", 1, 0, Some(Problem::OUT_OF_STOCK)),
            line("Ulysses", 3, 1, Some(Problem::INSUFFICIENT_STOCK)),
        ]);
        assert_eq!(
            message,
            "This order's books are in your cart (3 in all). Fewer copies are in stock of: Ulysses (1 of 3). Not added: Persuasion (out of stock)."
        );
        let none = summary(&[line("Emma", 1, 0, Some(Problem::UNAVAILABLE))]);
        assert_eq!(
            none,
            "None of this order's books can be bought now. Emma (no longer sold)."
        );
    }
}
