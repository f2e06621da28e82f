-- The purchase path: carts, orders with snapshotted lines, addresses,
-- payments, shipments and checkout idempotency records.

-- A guest cart belongs to whoever holds its token (its public id); a
-- signed-in user's cart to that user alone.
CREATE TABLE carts (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    token          text NOT NULL UNIQUE CHECK (length(token) BETWEEN 32 AND 64),
    user_id        bigint REFERENCES users (id) ON DELETE CASCADE,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    checked_out_at timestamptz
);
SELECT diesel_manage_updated_at('carts');
-- One open cart per user.
CREATE UNIQUE INDEX carts_open_per_user ON carts (user_id) WHERE user_id IS NOT NULL AND checked_out_at IS NULL;

CREATE TABLE cart_lines (
    cart_id  bigint NOT NULL REFERENCES carts (id) ON DELETE CASCADE,
    book_id  bigint NOT NULL REFERENCES books (id) ON DELETE CASCADE,
    quantity integer NOT NULL CHECK (quantity BETWEEN 1 AND 99),
    added_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (cart_id, book_id)
);

CREATE TABLE addresses (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
    line1       text NOT NULL CHECK (length(btrim(line1)) BETWEEN 1 AND 200),
    line2       text CHECK (length(line2) <= 200),
    city        text NOT NULL CHECK (length(btrim(city)) BETWEEN 1 AND 100),
    region      text CHECK (length(region) <= 100),
    postal_code text NOT NULL CHECK (length(btrim(postal_code)) BETWEEN 1 AND 20),
    country     text NOT NULL CHECK (country ~ '^[A-Z]{2}$'),
    phone       text CHECK (length(phone) <= 40),
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE SEQUENCE order_numbers START 100001;

CREATE TABLE orders (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    number              text NOT NULL UNIQUE DEFAULT ('BK-' || nextval('order_numbers')),
    user_id             bigint REFERENCES users (id) ON DELETE SET NULL,
    email               text NOT NULL CHECK (length(email) <= 254 AND email ~ '^[^@[:space:]]+@[^@[:space:]]+$'),
    status              text NOT NULL CHECK (status IN ('PENDING_PAYMENT', 'PAID', 'SHIPPED', 'DELIVERED', 'CANCELLED', 'REFUNDED')),
    currency            text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    subtotal_cents      integer NOT NULL CHECK (subtotal_cents >= 0),
    shipping_cents      integer NOT NULL CHECK (shipping_cents >= 0),
    total_cents         integer NOT NULL CHECK (total_cents = subtotal_cents + shipping_cents),
    shipping_method     text NOT NULL CHECK (shipping_method IN ('standard', 'express', 'pickup')),
    shipping_address_id bigint NOT NULL REFERENCES addresses (id),
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    paid_at             timestamptz,
    cancelled_at        timestamptz
);
SELECT diesel_manage_updated_at('orders');
CREATE INDEX orders_user_idx ON orders (user_id, created_at DESC, id DESC);
CREATE INDEX orders_email_idx ON orders (lower(email));
CREATE INDEX orders_status_idx ON orders (status, created_at DESC, id DESC);

-- Title, ISBN and price as they were when bought.
CREATE TABLE order_lines (
    order_id         bigint NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    position         smallint NOT NULL,
    book_id          bigint REFERENCES books (id) ON DELETE SET NULL,
    title            text NOT NULL,
    isbn             text NOT NULL,
    unit_price_cents integer NOT NULL CHECK (unit_price_cents >= 0),
    quantity         integer NOT NULL CHECK (quantity BETWEEN 1 AND 99),
    PRIMARY KEY (order_id, position)
);

CREATE TABLE payments (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_id     bigint NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    provider     text NOT NULL,
    reference    text,
    amount_cents integer NOT NULL CHECK (amount_cents >= 0),
    currency     text NOT NULL,
    status       text NOT NULL CHECK (status IN ('APPROVED', 'DECLINED', 'FAILED', 'REFUNDED')),
    card_last4   text,
    message      text,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX payments_order_idx ON payments (order_id);

CREATE TABLE shipments (
    order_id        bigint PRIMARY KEY REFERENCES orders (id) ON DELETE CASCADE,
    carrier         text NOT NULL CHECK (length(btrim(carrier)) BETWEEN 1 AND 100),
    tracking_number text NOT NULL CHECK (length(btrim(tracking_number)) BETWEEN 1 AND 100),
    shipped_at      timestamptz NOT NULL DEFAULT now(),
    delivered_at    timestamptz
);

-- A checkout retried with the same key returns the same order; the request
-- hash tells a retry from a different request reusing the key.
CREATE TABLE idempotency_keys (
    scope        text NOT NULL,
    key          text NOT NULL CHECK (length(key) BETWEEN 1 AND 200),
    request_hash bytea NOT NULL,
    order_id     bigint REFERENCES orders (id) ON DELETE CASCADE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (scope, key)
);
