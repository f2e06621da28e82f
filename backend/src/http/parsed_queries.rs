//! Recently parsed query documents by their text, with the shape of each
//! operation of theirs that has run. Owns only that cache: it never executes
//! or validates anything.

use async_graphql::parser::types::ExecutableDocument;

use super::query_shape::{Shape, measure};

struct Cached {
    document: ExecutableDocument,
    /// The measured shape per operation name (clients name one operation of
    /// a document holding several).
    shapes: Vec<(Option<String>, Shape)>,
}

/// Recently parsed query documents by their text: clients send the same few
/// queries over and over, and parsing and measuring are a visible share of a
/// request. Bounded: when full it starts over.
pub struct ParsedQueries {
    documents: std::sync::Mutex<std::collections::HashMap<String, Cached>>,
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

    /// The cached document of `query` and the shape of `operation` in it
    /// (measured now if that operation has not run before).
    pub fn get(&self, query: &str, operation: Option<&str>) -> Option<(ExecutableDocument, Shape)> {
        let mut documents = self.documents.lock().ok()?;
        let cached = documents.get_mut(query)?;
        let shape = match cached
            .shapes
            .iter()
            .find(|(name, _)| name.as_deref() == operation)
        {
            Some((_, shape)) => *shape,
            None => {
                let shape = measure(&cached.document, operation);
                cached.shapes.push((operation.map(str::to_owned), shape));
                shape
            }
        };
        Some((cached.document.clone(), shape))
    }

    pub fn insert(
        &self,
        query: &str,
        document: &ExecutableDocument,
        operation: Option<&str>,
        shape: Shape,
    ) {
        if query.len() > Self::MAX_QUERY_BYTES {
            return;
        }
        if let Ok(mut documents) = self.documents.lock() {
            if documents.len() >= Self::CAPACITY {
                documents.clear();
            }
            documents.insert(
                query.to_owned(),
                Cached {
                    document: document.clone(),
                    shapes: vec![(operation.map(str::to_owned), shape)],
                },
            );
        }
    }
}

impl Default for ParsedQueries {
    fn default() -> Self {
        Self::new()
    }
}
