//! The bounded label values of the backend's metrics: operation names (the
//! storefront's and the benches' operations, everything else `other`),
//! request outcomes, GraphQL error codes, checkout and payment outcomes.
//! Never holds a value taken from a request: a name not on a list is
//! `other`.

/// The operation names requests are counted under: every operation in
/// `frontend/queries/*.graphql` (a test checks) and the benches' (`Book`,
/// `Catalog`, `Walk`, `Q1`-`Q3`). Sorted (a binary search finds a name).
pub const OPERATIONS: [&str; 57] = [
    "Account",
    "AddAddress",
    "AddToCart",
    "AddressBook",
    "Book",
    "BookPage",
    "BuyAgain",
    "CancelOrder",
    "CartPage",
    "Catalog",
    "ChangePassword",
    "Checkout",
    "CheckoutPage",
    "ContributorPage",
    "DeleteAddress",
    "FindOrder",
    "HeaderCart",
    "Home",
    "LiveOrder",
    "LiveOrderPlaced",
    "LiveOrderUpdated",
    "LiveViewer",
    "Login",
    "Logout",
    "OrderHistory",
    "OrderPage",
    "Q1",
    "Q2",
    "Q3",
    "Register",
    "RemoveCartLine",
    "RequestEmailVerification",
    "RequestPasswordReset",
    "ResetPassword",
    "SetDefaultAddress",
    "SitemapBooks",
    "SitemapContributors",
    "SitemapGenres",
    "StaffAdjustStock",
    "StaffArchiveBook",
    "StaffBookChoices",
    "StaffBookEdit",
    "StaffBooks",
    "StaffCreateBook",
    "StaffDeliverOrder",
    "StaffHome",
    "StaffOrder",
    "StaffOrders",
    "StaffRefundOrder",
    "StaffRestoreBook",
    "StaffShipOrder",
    "StaffUpdateBook",
    "UpdateAddress",
    "UpdateCartLine",
    "UpdateProfile",
    "VerifyEmail",
    "Walk",
];

/// Operations with a label: the named ones and `other`.
pub const OPERATION_LABELS: usize = OPERATIONS.len() + 1;

/// An operation as counted: one of [`OPERATIONS`], or `other` (anonymous
/// operations, names not on the list, documents that did not parse).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Operation(u8);

impl Operation {
    pub const OTHER: Self = Self(OPERATIONS.len() as u8);

    /// The operation called `name`, if it is on the list.
    pub fn named(name: Option<&str>) -> Self {
        name.and_then(|name| OPERATIONS.binary_search(&name).ok())
            .and_then(|index| u8::try_from(index).ok())
            .map_or(Self::OTHER, Self)
    }

    pub fn label(self) -> &'static str {
        OPERATIONS
            .get(usize::from(self.0))
            .copied()
            .unwrap_or("other")
    }

    pub(super) fn index(self) -> usize {
        usize::from(self.0)
    }
}

impl Default for Operation {
    fn default() -> Self {
        Self::OTHER
    }
}

/// How a GraphQL request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Executed, no errors.
    Ok,
    /// Answered from the response cache (not executed).
    Cached,
    /// Executed, with errors in the answer.
    Error,
    /// Refused before execution (parse error, limits, bad variables).
    Rejected,
}

impl Outcome {
    pub const ALL: [Self; 4] = [Self::Ok, Self::Cached, Self::Error, Self::Rejected];

    pub fn label(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Cached => "cached",
            Self::Error => "error",
            Self::Rejected => "rejected",
        }
    }

    pub(super) fn index(self) -> usize {
        self as usize
    }
}

/// The `extensions.code` values errors carry (`crate::error`,
/// `crate::http`); anything else counts as `other`.
pub const ERROR_CODES: [&str; 11] = [
    "BAD_USER_INPUT",
    "UNAUTHENTICATED",
    "FORBIDDEN",
    "NOT_FOUND",
    "TOO_MANY_ATTEMPTS",
    "SERVICE_UNAVAILABLE",
    "INTERNAL",
    "GRAPHQL_PARSE_FAILED",
    "GRAPHQL_VALIDATION_FAILED",
    "PERSISTED_QUERY_NOT_FOUND",
    "other",
];

/// The index in [`ERROR_CODES`] of `code` (`other` when not listed).
pub fn error_code(code: &str) -> usize {
    ERROR_CODES
        .iter()
        .position(|known| *known == code)
        .unwrap_or(ERROR_CODES.len() - 1)
}

/// How a checkout ended, as the shopper was told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckoutOutcome {
    /// Paid (now, or by an earlier attempt with the same key).
    Paid,
    /// Placed, awaiting the gateway's answer.
    Pending,
    /// The card was refused: no order.
    Declined,
    /// The payment provider failed: no order.
    PaymentFailed,
    /// Refused with user errors (empty cart, out of stock, bad input).
    Refused,
    /// Failed with an error (database, internal).
    Error,
}

impl CheckoutOutcome {
    pub const ALL: [Self; 6] = [
        Self::Paid,
        Self::Pending,
        Self::Declined,
        Self::PaymentFailed,
        Self::Refused,
        Self::Error,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Self::Paid => "paid",
            Self::Pending => "pending",
            Self::Declined => "declined",
            Self::PaymentFailed => "payment_failed",
            Self::Refused => "refused",
            Self::Error => "error",
        }
    }
}

/// What the payment gateway answered a charge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentOutcome {
    Approved,
    Declined,
    Failed,
    /// No answer within the charge timeout (the sweeper asks later).
    Unknown,
}

impl PaymentOutcome {
    pub const ALL: [Self; 4] = [Self::Approved, Self::Declined, Self::Failed, Self::Unknown];

    pub fn label(self) -> &'static str {
        match self {
            Self::Approved => "approved",
            Self::Declined => "declined",
            Self::Failed => "failed",
            Self::Unknown => "unknown",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_are_sorted_and_unique() {
        assert!(OPERATIONS.windows(2).all(|pair| pair[0] < pair[1]));
    }

    #[test]
    fn a_listed_name_is_itself_and_anything_else_is_other() {
        assert_eq!(Operation::named(Some("BookPage")).label(), "BookPage");
        assert_eq!(Operation::named(Some("Walk")).label(), "Walk");
        assert_eq!(Operation::named(Some("Account")).label(), "Account");
        assert_eq!(Operation::named(Some("bookpage")).label(), "other");
        assert_eq!(Operation::named(Some("'; DROP")).label(), "other");
        assert_eq!(Operation::named(None).label(), "other");
        assert_eq!(Operation::OTHER.index(), OPERATION_LABELS - 1);
    }

    #[test]
    fn unknown_error_codes_are_other() {
        assert_eq!(ERROR_CODES[error_code("NOT_FOUND")], "NOT_FOUND");
        assert_eq!(ERROR_CODES[error_code("SOMETHING_NEW")], "other");
    }

    /// The list holds every operation the storefront sends.
    #[test]
    fn every_storefront_operation_is_listed() {
        let queries = concat!(env!("CARGO_MANIFEST_DIR"), "/../frontend/queries");
        let mut seen = 0;
        for entry in std::fs::read_dir(queries).unwrap() {
            let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
            for line in text.lines() {
                let mut words = line.split_whitespace();
                if let (Some("query" | "mutation" | "subscription"), Some(name)) =
                    (words.next(), words.next())
                {
                    let name = name.split(['(', '{']).next().unwrap();
                    assert!(OPERATIONS.contains(&name), "{name} is not in OPERATIONS");
                    seen += 1;
                }
            }
        }
        assert!(seen >= 30, "only {seen} operations found in {queries}");
    }
}
