use super::*;

#[test]
fn language_codes_read_as_names() {
    assert_eq!(language_name("en"), "English");
    assert_eq!(language_name("fr"), "French");
    assert_eq!(language_name("de"), "German");
    assert_eq!(language_name("EN"), "English");
    assert_eq!(language_name("en-GB"), "English");
    assert_eq!(language_name("fra"), "French");
    assert_eq!(language_name("el"), "Modern Greek");
    assert_eq!(language_name("la"), "Latin");
    assert_eq!(language_name("xx"), "xx");
    assert_eq!(language_name(""), "");
}

#[test]
fn isbns_are_hyphenated_by_the_registered_ranges() {
    // Penguin's English-language range: group 0, registrant 14.
    assert_eq!(isbn("9780141439518"), "978-0-14-143951-8");
    assert_eq!(isbn("9781492067665"), "978-1-4920-6766-5");
    // A French publisher (group 2), a German one (group 3).
    assert_eq!(isbn("9782070360024"), "978-2-07-036002-4");
    assert_eq!(isbn("9783161484100"), "978-3-16-148410-0");
    // ISBN-10 in, ISBN-10 out.
    assert_eq!(isbn("0306406152"), "0-306-40615-2");
    // Already hyphenated: the same.
    assert_eq!(isbn("978-0-14-143951-8"), "978-0-14-143951-8");
    // Not an ISBN (bad check digit), or nothing: shown as given.
    assert_eq!(isbn("9780141439519"), "9780141439519");
    assert_eq!(isbn("n/a"), "n/a");
}

#[test]
fn dates_read_in_words() {
    assert_eq!(date("2026-11-29"), "29 November 2026");
    assert_eq!(date("1813-01-28"), "28 January 1813");
    assert_eq!(date("2026-11-29T23:30:00-05:00"), "30 November 2026");
    assert_eq!(date("2026-11-29T10:15:00.123456Z"), "29 November 2026");
    assert_eq!(date("someday"), "someday");
    assert_eq!(
        datetime("2026-11-29T14:05:59.5+00:00"),
        "29 November 2026, 14:05 UTC"
    );
    assert_eq!(datetime("2026-11-29"), "29 November 2026");
    assert_eq!(year(1818), "1818");
    assert_eq!(year(-800), "800 BC");
}

#[test]
fn formats_and_statuses_have_one_voice() {
    assert_eq!(book_format("PAPERBACK"), "Paperback");
    assert_eq!(book_format("hardcover"), "Hardcover");
    assert_eq!(book_format("EBOOK"), "Ebook");
    assert_eq!(book_format("AUDIOBOOK"), "Audiobook");
    assert_eq!(shipping_method("EXPRESS"), "Express delivery");
    assert_eq!(shipping_method("PICKUP"), "Pick up in store");
    assert_eq!(order_status("PENDING_PAYMENT"), "Awaiting payment");
    assert_eq!(order_status("PAID"), "Paid");
    assert_eq!(order_status("CANCELLED"), "Cancelled");
    assert_eq!(order_status("ON_HOLD"), "On hold");
    assert_eq!(payment_status("DECLINED"), "Declined");
    for (code, label) in ORDER_STATUSES {
        assert_eq!(order_status(code), label);
    }
}

#[test]
fn money_carries_its_currency_symbol() {
    assert_eq!(money(1299, "USD"), "$12.99");
    assert_eq!(money(5, "EUR"), "€0.05");
    assert_eq!(money(-250, "GBP"), "-£2.50");
    assert_eq!(money(1000, "CHF"), "10.00 CHF");
    assert_eq!(decimal_amount(1299), "12.99");
    assert_eq!(decimal_amount(7), "0.07");
}

#[test]
fn summaries_cut_at_a_word_within_the_length() {
    assert_eq!(summary("  A short\n text. ", 160), "A short text.");
    let long = "It is a truth universally acknowledged, that a single man in possession of a good fortune, must be in want of a wife.";
    let cut = summary(long, 60);
    assert!(cut.chars().count() <= 60, "{cut}");
    assert_eq!(
        cut,
        "It is a truth universally acknowledged, that a single man…"
    );
    assert_eq!(summary("Supercalifragilistic", 10), "Supercali…");
    assert_eq!(summary("", 10), "");
}

#[test]
fn the_filters_work_in_templates_and_leave_odd_values_alone() {
    let mut env = Environment::new();
    register(&mut env);
    let render = |source: &str, context: Value| env.render_str(source, context).unwrap();
    let book = minijinja::context! {
        language => "en", isbn => "9780141439518", date => "2026-11-29",
        format => "PAPERBACK", status => "PENDING_PAYMENT", born => -800,
        price => minijinja::context! { amountCents => 1299, currency => "EUR", formatted => "€12.99" },
    };
    assert_eq!(
        render(
            "{{ b.language | language_name }}|{{ b.isbn | isbn }}|{{ b.date | date }}|{{ b.format | book_format }}|{{ b.status | order_status }}|{{ b.born | year }}|{{ b.price | money }}",
            minijinja::context! { b => book }
        ),
        "English|978-0-14-143951-8|29 November 2026|Paperback|Awaiting payment|800 BC|€12.99"
    );
    assert_eq!(
        render(
            "[{{ none | date }}][{{ missing | isbn }}][{{ 12 | language_name }}]",
            minijinja::context! { none => () }
        ),
        "[][][12]"
    );
    assert_eq!(
        render(
            "{{ text | summary(12) }}",
            minijinja::context! { text => "one two three four" }
        ),
        "one two…"
    );
}
