-- Version 3: the product's contact names of a user (ContactGivenName, ContactSurname).
-- Users stored before have none.
ALTER TABLE users ADD COLUMN contact_given_name TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN contact_surname TEXT NOT NULL DEFAULT '';
