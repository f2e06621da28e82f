//! Recently parsed query documents by their text.
//! Owns only that cache: it never executes or validates anything.

use async_graphql::parser::types::ExecutableDocument;

/// Recently parsed query documents by their text: clients send the same few
/// queries over and over, and parsing is a visible share of a request.
/// Bounded: when full it starts over.
pub struct ParsedQueries {
    documents: std::sync::Mutex<std::collections::HashMap<String, ExecutableDocument>>,
}

impl ParsedQueries {
    const CAPACITY: usize = 512;
    /// Longer queries are parsed every time rather than kept.
    const MAX_QUERY_BYTES: usize = 16 * 1024;

    pub fn new() -> Self {
        Self {
            documents: std::sync::Mutex::new(std::collections::HashMap::new()),
        }
    }

    pub fn get(&self, query: &str) -> Option<ExecutableDocument> {
        self.documents.lock().ok()?.get(query).cloned()
    }

    pub fn insert(&self, query: &str, document: &ExecutableDocument) {
        if query.len() > Self::MAX_QUERY_BYTES {
            return;
        }
        if let Ok(mut documents) = self.documents.lock() {
            if documents.len() >= Self::CAPACITY {
                documents.clear();
            }
            documents.insert(query.to_owned(), document.clone());
        }
    }
}

impl Default for ParsedQueries {
    fn default() -> Self {
        Self::new()
    }
}
