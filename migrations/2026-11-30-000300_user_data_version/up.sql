-- A version per user of everything `viewer` can show them (profile,
-- pending email change, orders with their lines, payments and shipments),
-- moved by triggers in the transaction of any write to those rows, whoever
-- makes it (checkout, staff, sweepers, SQL by hand). The
-- backend reads it with the session (the same statement) and keys a
-- viewer's stored answers by it: a write committed before a request began
-- is never answered from an older copy, on any instance, with no message
-- to lose.
ALTER TABLE users ADD COLUMN data_version bigint NOT NULL DEFAULT 0;

CREATE FUNCTION bump_user_data_version(uid bigint) RETURNS void
LANGUAGE sql AS $$
  UPDATE users SET data_version = data_version + 1 WHERE id = uid
$$;

-- Any update of a user's own row moves its version (unless it moves it).
CREATE FUNCTION users_data_version() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.data_version = OLD.data_version THEN
    NEW.data_version := OLD.data_version + 1;
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER users_data_version BEFORE UPDATE ON users
  FOR EACH ROW EXECUTE FUNCTION users_data_version();

-- Rows with a user_id (orders, pending email changes): the user before and after.
CREATE FUNCTION owner_data_version() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP <> 'INSERT' AND OLD.user_id IS NOT NULL THEN
    PERFORM bump_user_data_version(OLD.user_id);
  END IF;
  IF TG_OP <> 'DELETE' AND NEW.user_id IS NOT NULL
     AND (TG_OP = 'INSERT' OR NEW.user_id IS DISTINCT FROM OLD.user_id) THEN
    PERFORM bump_user_data_version(NEW.user_id);
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER orders_data_version AFTER INSERT OR UPDATE OR DELETE ON orders
  FOR EACH ROW EXECUTE FUNCTION owner_data_version();
CREATE TRIGGER account_tokens_data_version AFTER INSERT OR UPDATE OR DELETE ON account_tokens
  FOR EACH ROW EXECUTE FUNCTION owner_data_version();

-- Rows of an order (payments, shipments, lines changed after the order was
-- placed): the order's user.
CREATE FUNCTION order_owner_data_version() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  oid bigint := CASE WHEN TG_OP = 'DELETE' THEN OLD.order_id ELSE NEW.order_id END;
BEGIN
  PERFORM bump_user_data_version(o.user_id) FROM orders o
    WHERE o.id = oid AND o.user_id IS NOT NULL;
  RETURN NULL;
END $$;
CREATE TRIGGER payments_data_version AFTER INSERT OR UPDATE OR DELETE ON payments
  FOR EACH ROW EXECUTE FUNCTION order_owner_data_version();
CREATE TRIGGER shipments_data_version AFTER INSERT OR UPDATE OR DELETE ON shipments
  FOR EACH ROW EXECUTE FUNCTION order_owner_data_version();
-- Lines are inserted with their order (whose insert moved the version).
CREATE TRIGGER order_lines_data_version AFTER UPDATE OR DELETE ON order_lines
  FOR EACH ROW EXECUTE FUNCTION order_owner_data_version();

-- Addresses are never changed once written (an order's is its own copy).
