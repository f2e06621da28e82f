//! The response cache's freshness rules, without Redis.
use super::*;

fn cache() -> ResponseCache {
    let cache = ResponseCache::new(1 << 20, Duration::from_secs(60), false, Duration::ZERO);
    cache.subscribed();
    cache
}

fn tags(list: &[Tag]) -> ReadTags {
    let read = ReadTags::default();
    for tag in list {
        match tag {
            Tag::Entity(kind, id) => read.entities(*kind, [*id]),
            Tag::Catalog => read.catalog(),
        }
    }
    read
}

fn store(cache: &ResponseCache, request: &'static [u8], read: &[Tag]) {
    let Lookup::Miss(ticket) = cache.lookup(0, request) else {
        panic!("expected a miss");
    };
    cache.store(
        ticket,
        Bytes::from_static(request),
        Bytes::from_static(b"answer"),
        "\"e\"".into(),
        Operation::OTHER,
        &tags(read),
    );
}

#[test]
fn an_answer_is_served_until_something_it_read_is_written() {
    let cache = cache();
    let book = Tag::Entity(Kind::Book, 7);
    store(&cache, b"q1", &[book]);
    store(&cache, b"q2", &[Tag::Entity(Kind::Book, 8)]);
    assert!(matches!(cache.lookup(0, b"q1"), Lookup::Hit(_)));
    assert!(
        matches!(cache.lookup(1, b"q1"), Lookup::Miss(_)),
        "GET and POST are apart"
    );
    cache.invalidate(&[book]);
    assert!(matches!(cache.lookup(0, b"q1"), Lookup::Miss(_)));
    assert!(matches!(cache.lookup(0, b"q2"), Lookup::Hit(_)));
}

#[test]
fn an_answer_computed_across_a_write_is_not_stored() {
    let cache = cache();
    let book = Tag::Entity(Kind::Book, 7);
    let Lookup::Miss(ticket) = cache.lookup(0, b"q") else {
        panic!("expected a miss");
    };
    // The write lands while the request runs.
    cache.invalidate(&[book]);
    cache.store(
        ticket,
        Bytes::from_static(b"q"),
        Bytes::from_static(b"old"),
        "\"e\"".into(),
        Operation::OTHER,
        &tags(&[book]),
    );
    assert!(matches!(cache.lookup(0, b"q"), Lookup::Miss(_)));
}

#[test]
fn unsubscribed_it_is_bypassed_and_resubscribing_drops_everything() {
    let cache = cache();
    store(&cache, b"q", &[Tag::Catalog]);
    cache.unsubscribed();
    assert!(matches!(cache.lookup(0, b"q"), Lookup::Bypass));
    cache.subscribed();
    assert!(matches!(cache.lookup(0, b"q"), Lookup::Miss(_)));
}

#[test]
fn tags_survive_their_message_text() {
    for tag in [Tag::Catalog, Tag::Entity(Kind::BookRelations, 42)] {
        assert_eq!(Tag::decode(&tag.encode()), Some(tag));
    }
    assert_eq!(Tag::decode("nonsense:1"), None);
}
