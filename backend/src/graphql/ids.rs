//! Global ids for the `Node` interface: base64url of `Type:databaseId`, so
//! one id names one object of one type across the whole API.

use async_graphql::ID;
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};

use crate::error::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeType {
    Book,
    Contributor,
    Genre,
    User,
    Order,
    SavedAddress,
}

impl NodeType {
    fn name(self) -> &'static str {
        match self {
            NodeType::Book => "Book",
            NodeType::Contributor => "Contributor",
            NodeType::Genre => "Genre",
            NodeType::User => "User",
            NodeType::Order => "Order",
            NodeType::SavedAddress => "SavedAddress",
        }
    }
}

pub fn global_id(node_type: NodeType, id: i64) -> ID {
    ID(URL_SAFE_NO_PAD.encode(format!("{}:{id}", node_type.name())))
}

/// Decodes any global id; `None` when it is not one of ours.
pub fn decode(id: &str) -> Option<(NodeType, i64)> {
    let text = String::from_utf8(URL_SAFE_NO_PAD.decode(id).ok()?).ok()?;
    let (name, number) = text.split_once(':')?;
    let node_type = [
        NodeType::Book,
        NodeType::Contributor,
        NodeType::Genre,
        NodeType::User,
        NodeType::Order,
        NodeType::SavedAddress,
    ]
    .into_iter()
    .find(|node_type| node_type.name() == name)?;
    Some((node_type, number.parse().ok()?))
}

/// Decodes a global id that must be of `expected` type.
pub fn decode_as(expected: NodeType, id: &str) -> Result<i64, Error> {
    match decode(id) {
        Some((node_type, number)) if node_type == expected => Ok(number),
        _ => Err(Error::BadUserInput(format!(
            "{id:?} is not a {} id",
            expected.name()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_other_types() {
        let id = global_id(NodeType::Book, 42);
        assert_eq!(decode(&id), Some((NodeType::Book, 42)));
        assert!(decode_as(NodeType::Book, &id).is_ok_and(|n| n == 42));
        assert!(decode_as(NodeType::Genre, &id).is_err());
        assert_eq!(decode("not-an-id"), None);
    }
}
