-- A signed-in customer's address book: addresses kept for the next checkout
-- (an order still copies the one it ships to into `addresses`, so editing or
-- deleting a saved address never changes a placed order). At most one
-- default per customer; the count per customer is capped by the backend
-- (`db::saved_addresses::MAX_PER_USER`) under a lock on the user's row.
CREATE TABLE saved_addresses (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id     bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name        text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
    line1       text NOT NULL CHECK (length(btrim(line1)) BETWEEN 1 AND 200),
    line2       text CHECK (length(line2) <= 200),
    city        text NOT NULL CHECK (length(btrim(city)) BETWEEN 1 AND 100),
    region      text CHECK (length(region) <= 100),
    postal_code text NOT NULL CHECK (length(btrim(postal_code)) BETWEEN 1 AND 20),
    country     text NOT NULL CHECK (country ~ '^[A-Z]{2}$'),
    phone       text CHECK (length(phone) <= 40),
    is_default  boolean NOT NULL DEFAULT false,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
SELECT diesel_manage_updated_at('saved_addresses');
CREATE INDEX saved_addresses_user_idx ON saved_addresses (user_id, id);
CREATE UNIQUE INDEX saved_addresses_one_default ON saved_addresses (user_id) WHERE is_default;

-- `viewer.addresses` is part of what a viewer's stored answers show: any
-- write moves the owner's data version (see 2026-11-30-000300).
CREATE TRIGGER saved_addresses_data_version AFTER INSERT OR UPDATE OR DELETE ON saved_addresses
  FOR EACH ROW EXECUTE FUNCTION owner_data_version();
