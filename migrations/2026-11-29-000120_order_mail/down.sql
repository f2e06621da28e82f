ALTER TABLE orders
    DROP CONSTRAINT orders_mail_access_token_only_for_guests,
    DROP COLUMN mail_access_token_hash;
