//! Issue #15's shopping API: `Cart.quote` (the total with shipping before
//! the order is placed, equal to what checkout charges), saved addresses
//! (`viewer.addresses` and their mutations; a customer only sees and
//! changes their own), checkout to a saved address, and `buyAgain`.

use serde_json::{Value, json};

use crate::checkout::support::{
    APPROVE, add_to_cart, book_with_stock, checkout_input, checkout_mutation,
    customer_checkout_input, guest_cart, number, set_stock,
};
use crate::support::TestApp;

const QUOTE: &str = "query($id: ID, $method: ShippingMethodCode!) { cart(id: $id) {
    subtotal { amountCents } quote(shippingMethod: $method) {
      shippingMethod { code } subtotal { amountCents } shipping { amountCents } total { amountCents currency } } } }";

const ADDRESS_FIELDS: &str =
    "id isDefault address { name line1 line2 city region postalCode country }";

fn address_mutation(name: &str, input_type: &str) -> String {
    format!(
        "mutation($input: {input_type}!) {{ {name}(input: $input) {{ address {{ {ADDRESS_FIELDS} }} addresses {{ {ADDRESS_FIELDS} }} userErrors {{ field code message }} }} }}"
    )
}

fn address(name: &str) -> Value {
    json!({"name": name, "line1": "1 Library Way", "city": "Springfield", "postalCode": "12345", "country": "us"})
}

async fn add_address(app: &TestApp, token: &str, name: &str) -> Value {
    app.data_as(
        token,
        &address_mutation("addAddress", "AddAddressInput"),
        json!({"input": {"address": address(name)}}),
    )
    .await["addAddress"]
        .clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_quote_is_what_checkout_charges_for_each_method() {
    let app = TestApp::new().await;
    let (first, _) = book_with_stock(&app, 0, 10).await;
    let (second, _) = book_with_stock(&app, 1, 10).await;
    let cart = guest_cart(&app, &first, 2).await;
    app.data(
        add_to_cart(),
        json!({"input": {"cartId": cart, "bookId": second, "quantity": 1}}),
    )
    .await;
    for (key, method, shipping) in [("q-1", "EXPRESS", 1499), ("q-2", "PICKUP", 0)] {
        let cart = if key == "q-1" {
            cart.clone()
        } else {
            guest_cart(&app, &second, 3).await
        };
        let (quoted, statements) = app
            .data_counting(QUOTE, json!({"id": cart, "method": method}))
            .await;
        let quote = &quoted["cart"]["quote"];
        assert_eq!(quote["shippingMethod"]["code"], method);
        assert_eq!(quote["shipping"]["amountCents"], shipping);
        assert_eq!(
            quote["subtotal"]["amountCents"],
            quoted["cart"]["subtotal"]["amountCents"]
        );
        let subtotal = quote["subtotal"]["amountCents"].as_i64().unwrap();
        assert_eq!(quote["total"]["amountCents"], subtotal + shipping);
        // The cart and its lines (books from the cache): quoting adds no
        // statement to reading the cart.
        assert!(statements <= 2, "a quote ran {statements} statements");

        let mut input = checkout_input(key, &cart, APPROVE);
        input["input"]["shippingMethod"] = json!(method);
        let placed = app.data(&checkout_mutation(), input).await;
        assert_eq!(
            placed["checkout"]["order"]["total"]["amountCents"], quote["total"]["amountCents"],
            "{placed}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn customers_keep_addresses_and_only_their_own() {
    let app = TestApp::new().await;
    let ada = app.customer_token("ada@example.com").await;
    let bob = app.customer_token("bob@example.com").await;

    // Every problem at once, nothing kept.
    let refused = app
        .data_as(
            &ada,
            &address_mutation("addAddress", "AddAddressInput"),
            json!({"input": {"address": {"name": " ", "line1": "a\nb", "city": "X", "postalCode": "1", "country": "USA"}}}),
        )
        .await;
    let fields: Vec<Value> = refused["addAddress"]["userErrors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|error| error["field"].clone())
        .collect();
    assert_eq!(
        fields,
        vec![
            json!(["input", "address", "name"]),
            json!(["input", "address", "line1"]),
            json!(["input", "address", "country"]),
        ]
    );

    let home = add_address(&app, &ada, "Ada at home").await;
    assert_eq!(home["userErrors"], json!([]), "{home}");
    assert_eq!(
        home["address"]["isDefault"], true,
        "the first is the default"
    );
    assert_eq!(home["address"]["address"]["country"], "US");
    let work = add_address(&app, &ada, "Ada at work").await;
    assert_eq!(work["address"]["isDefault"], false);
    let work_id = work["address"]["id"].clone();
    let home_id = home["address"]["id"].clone();

    let set = app
        .data_as(
            &ada,
            &address_mutation("setDefaultAddress", "AddressIdInput"),
            json!({"input": {"id": work_id}}),
        )
        .await;
    let defaults: Vec<(Value, Value)> = set["setDefaultAddress"]["addresses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["address"]["name"].clone(), a["isDefault"].clone()))
        .collect();
    assert_eq!(
        defaults,
        vec![
            (json!("Ada at work"), json!(true)),
            (json!("Ada at home"), json!(false))
        ]
    );

    let updated = app
        .data_as(
            &ada,
            &address_mutation("updateAddress", "UpdateAddressInput"),
            json!({"input": {"id": home_id, "address": address("Ada, moved")}}),
        )
        .await;
    assert_eq!(
        updated["updateAddress"]["address"]["address"]["name"],
        "Ada, moved"
    );

    // Bob sees none of Ada's, and each of her ids is "not found" to him,
    // changing nothing.
    let (bobs, statements) = {
        let before = app.db.statements_executed();
        let data = app
            .data_as(
                &bob,
                &format!("{{ viewer {{ addresses {{ {ADDRESS_FIELDS} }} }} }}"),
                json!({}),
            )
            .await;
        (data, app.db.statements_executed() - before)
    };
    assert_eq!(bobs["viewer"]["addresses"], json!([]));
    assert!(
        statements <= 2,
        "viewer.addresses ran {statements} statements"
    );
    for (name, input_type, input) in [
        (
            "updateAddress",
            "UpdateAddressInput",
            json!({"id": home_id, "address": address("Bob")}),
        ),
        ("deleteAddress", "AddressIdInput", json!({"id": home_id})),
        (
            "setDefaultAddress",
            "AddressIdInput",
            json!({"id": home_id}),
        ),
    ] {
        let data = app
            .data_as(
                &bob,
                &address_mutation(name, input_type),
                json!({"input": input}),
            )
            .await;
        assert_eq!(data[name]["userErrors"][0]["code"], "NOT_FOUND", "{data}");
        assert_eq!(data[name]["address"], Value::Null);
    }
    // Nor can he ship to it.
    let (book, _) = book_with_stock(&app, 0, 5).await;
    app.data_as(
        &bob,
        add_to_cart(),
        json!({"input": {"bookId": book, "quantity": 1}}),
    )
    .await;
    let mut input = customer_checkout_input("bob-1", APPROVE);
    input["input"]
        .as_object_mut()
        .unwrap()
        .remove("shippingAddress");
    input["input"]["savedAddressId"] = home_id.clone();
    let refused = app.data_as(&bob, &checkout_mutation(), input).await;
    assert_eq!(refused["checkout"]["order"], Value::Null);
    assert_eq!(
        refused["checkout"]["userErrors"][0]["field"],
        json!(["input", "savedAddressId"])
    );

    let mine = app
        .data_as(
            &ada,
            &format!("{{ viewer {{ addresses {{ {ADDRESS_FIELDS} }} }} }}"),
            json!({}),
        )
        .await;
    assert_eq!(mine["viewer"]["addresses"].as_array().unwrap().len(), 2);
    assert_eq!(
        mine["viewer"]["addresses"][1]["address"]["name"],
        "Ada, moved"
    );

    // Deleting the default makes the one left the default.
    let deleted = app
        .data_as(
            &ada,
            &address_mutation("deleteAddress", "AddressIdInput"),
            json!({"input": {"id": work_id}}),
        )
        .await;
    assert_eq!(
        deleted["deleteAddress"]["addresses"][0]["isDefault"], true,
        "{deleted}"
    );

    // Anonymous callers get UNAUTHENTICATED.
    let reply = app
        .graphql(
            &address_mutation("addAddress", "AddAddressInput"),
            json!({"input": {"address": address("Nobody")}}),
        )
        .await;
    assert_eq!(
        reply.json()["errors"][0]["extensions"]["code"],
        "UNAUTHENTICATED"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_address_book_holds_at_most_20() {
    let app = TestApp::new().await;
    let ada = app.customer_token("ada@example.com").await;
    for n in 0..20 {
        let added = add_address(&app, &ada, &format!("Address {n}")).await;
        assert_eq!(added["userErrors"], json!([]), "{added}");
    }
    let full = add_address(&app, &ada, "One too many").await;
    assert_eq!(full["userErrors"][0]["code"], "INVALID", "{full}");
    assert!(
        full["userErrors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("at most 20")
    );
}

/// Two adds at once cannot both pass the limit: each counts under a lock on
/// the customer's row. Here another transaction holds that row while it
/// adds the 20th address; an add sent meanwhile waits for it, then counts
/// 20 and is refused (counting without the lock, it would see 19 and make
/// 21).
#[tokio::test(flavor = "multi_thread")]
async fn adding_an_address_counts_under_the_customers_lock() {
    let app = TestApp::new().await;
    let ada = app.customer_token("ada@example.com").await;
    for n in 0..19 {
        add_address(&app, &ada, &format!("Address {n}")).await;
    }
    let user_id = number(
        &app,
        "SELECT id AS n FROM users WHERE email = 'ada@example.com'",
    )
    .await;
    let mut other = app.connection().await;
    bookstore_test_support::execute(&mut other, "BEGIN").await;
    bookstore_test_support::execute(
        &mut other,
        &format!("SELECT id FROM users WHERE id = {user_id} FOR NO KEY UPDATE"),
    )
    .await;
    bookstore_test_support::execute(
        &mut other,
        &format!(
            "INSERT INTO saved_addresses (user_id, name, line1, city, postal_code, country)
             VALUES ({user_id}, 'Twentieth', '1 Way', 'Town', '1', 'US')"
        ),
    )
    .await;
    let add = add_address(&app, &ada, "Twenty-first");
    tokio::pin!(add);
    let waited = tokio::time::timeout(std::time::Duration::from_millis(500), &mut add).await;
    assert!(
        waited.is_err(),
        "the add did not wait for the customer's row"
    );
    bookstore_test_support::execute(&mut other, "COMMIT").await;
    let refused = add.await;
    assert_eq!(refused["userErrors"][0]["code"], "INVALID", "{refused}");
    let kept = number(
        &app,
        &format!("SELECT count(*) AS n FROM saved_addresses WHERE user_id = {user_id}"),
    )
    .await;
    assert_eq!(kept, 20);
}

#[tokio::test(flavor = "multi_thread")]
async fn checkout_ships_to_a_saved_address_and_can_keep_a_new_one() {
    let app = TestApp::new().await;
    let ada = app.customer_token("ada@example.com").await;
    let (book, _) = book_with_stock(&app, 0, 10).await;
    let order_address = "shippingAddress { name line1 city postalCode country }";
    let mutation = format!(
        "mutation($input: CheckoutInput!) {{ checkout(input: $input) {{ order {{ number {order_address} }} userErrors {{ field code message }} }} }}"
    );

    // A new address, kept once the order is placed.
    app.data_as(&ada, add_to_cart(), json!({"input": {"bookId": book}}))
        .await;
    let mut input = customer_checkout_input("ada-1", APPROVE);
    input["input"]["saveAddress"] = json!(true);
    let placed = app.data_as(&ada, &mutation, input).await;
    assert_eq!(placed["checkout"]["userErrors"], json!([]), "{placed}");
    let kept = app
        .data_as(
            &ada,
            &format!("{{ viewer {{ addresses {{ {ADDRESS_FIELDS} }} }} }}"),
            json!({}),
        )
        .await;
    let saved = kept["viewer"]["addresses"][0].clone();
    assert_eq!(saved["address"]["name"], "Ada Reader", "{kept}");
    assert_eq!(saved["isDefault"], true);

    // Then that saved address, by id.
    app.data_as(&ada, add_to_cart(), json!({"input": {"bookId": book}}))
        .await;
    let mut input = customer_checkout_input("ada-2", APPROVE);
    input["input"]
        .as_object_mut()
        .unwrap()
        .remove("shippingAddress");
    input["input"]["savedAddressId"] = saved["id"].clone();
    let placed = app.data_as(&ada, &mutation, input).await;
    assert_eq!(placed["checkout"]["userErrors"], json!([]), "{placed}");
    assert_eq!(
        placed["checkout"]["order"]["shippingAddress"]["line1"],
        "1 Library Way"
    );

    // Neither an address nor a saved one: a field error.
    app.data_as(&ada, add_to_cart(), json!({"input": {"bookId": book}}))
        .await;
    let mut input = customer_checkout_input("ada-3", APPROVE);
    input["input"]
        .as_object_mut()
        .unwrap()
        .remove("shippingAddress");
    let refused = app.data_as(&ada, &mutation, input).await;
    assert_eq!(
        refused["checkout"]["userErrors"][0]["field"],
        json!(["input", "shippingAddress"])
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn buying_again_adds_what_can_still_be_bought_and_says_what_not() {
    let app = TestApp::new().await;
    let ada = app.customer_token("ada@example.com").await;
    let (kept, _) = book_with_stock(&app, 0, 10).await;
    let (archived, archived_id) = book_with_stock(&app, 1, 10).await;
    let (sold_out, sold_out_id) = book_with_stock(&app, 2, 10).await;
    let (scarce, scarce_id) = book_with_stock(&app, 3, 10).await;
    for (book, quantity) in [(&kept, 2), (&archived, 1), (&sold_out, 1), (&scarce, 3)] {
        app.data_as(
            &ada,
            add_to_cart(),
            json!({"input": {"bookId": book, "quantity": quantity}}),
        )
        .await;
    }
    let placed = app
        .data_as(
            &ada,
            &checkout_mutation(),
            customer_checkout_input("ada-1", APPROVE),
        )
        .await;
    let number = placed["checkout"]["order"]["number"].clone();
    app.sql(&format!(
        "UPDATE books SET archived = true WHERE id = {archived_id}"
    ))
    .await;
    set_stock(&app, archived_id, 8).await;
    set_stock(&app, sold_out_id, 0).await;
    set_stock(&app, scarce_id, 1).await;

    let buy_again = "mutation($input: BuyAgainInput!) { buyAgain(input: $input) {
        cart { itemCount lines { quantity book { id } } }
        lines { title orderedQuantity cartQuantity problem } userErrors { field code } } }";
    let (data, statements) = {
        let before = app.db.statements_executed();
        let data = app
            .data_as(&ada, buy_again, json!({"input": {"number": number}}))
            .await;
        (data, app.db.statements_executed() - before)
    };
    let payload = &data["buyAgain"];
    assert_eq!(payload["userErrors"], json!([]), "{data}");
    let problems: Vec<(i64, Value)> = payload["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|line| {
            (
                line["cartQuantity"].as_i64().unwrap(),
                line["problem"].clone(),
            )
        })
        .collect();
    let mut problems = problems;
    problems.sort_by_key(|(quantity, problem)| (*quantity, problem.to_string()));
    assert_eq!(
        problems,
        vec![
            (0, json!("OUT_OF_STOCK")),
            (0, json!("UNAVAILABLE")),
            (1, json!("INSUFFICIENT_STOCK")),
            (2, Value::Null),
        ],
        "{data}"
    );
    assert_eq!(payload["cart"]["itemCount"], 3);
    // Session, order, its lines, the customer's cart, then one transaction
    // (BEGIN, the cart locked, its lines, one write of every line, COMMIT),
    // the answer's lines: 13 for these four lines (nothing runs per line:
    // one write for all of them, the books by one batched load).
    assert!(statements <= 13, "buyAgain ran {statements} statements");

    // Another customer's order is not found, and adds nothing.
    let bob = app.customer_token("bob@example.com").await;
    let data = app
        .data_as(&bob, buy_again, json!({"input": {"number": number}}))
        .await;
    assert_eq!(data["buyAgain"]["userErrors"][0]["code"], "NOT_FOUND");
    assert_eq!(data["buyAgain"]["cart"], Value::Null);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_guest_buys_again_with_the_orders_token_only() {
    let app = TestApp::new().await;
    let (book, _) = book_with_stock(&app, 0, 10).await;
    let cart = guest_cart(&app, &book, 2).await;
    let mutation = "mutation($input: CheckoutInput!) { checkout(input: $input) {
        order { number } orderAccessToken userErrors { code } } }";
    let placed = app
        .data(mutation, checkout_input("guest-1", &cart, APPROVE))
        .await;
    let number = placed["checkout"]["order"]["number"].clone();
    let token = placed["checkout"]["orderAccessToken"].clone();
    let buy_again = "mutation($input: BuyAgainInput!) { buyAgain(input: $input) {
        cart { id itemCount } lines { cartQuantity problem } userErrors { field code } } }";

    // Without the token (or with another's), the order is not found.
    for input in [
        json!({"number": number}),
        json!({"number": number, "accessToken": "not-the-token"}),
    ] {
        let data = app.data(buy_again, json!({"input": input})).await;
        assert_eq!(data["buyAgain"]["userErrors"][0]["code"], "NOT_FOUND");
        assert_eq!(data["buyAgain"]["cart"], Value::Null);
    }
    // With it: a new guest cart holding the order's books.
    let data = app
        .data(
            buy_again,
            json!({"input": {"number": number, "accessToken": token}}),
        )
        .await;
    assert_eq!(data["buyAgain"]["userErrors"], json!([]), "{data}");
    assert_eq!(data["buyAgain"]["cart"]["itemCount"], 2);
    assert_ne!(
        data["buyAgain"]["cart"]["id"], cart,
        "the old cart was checked out"
    );
}
