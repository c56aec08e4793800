-- Version 4: the sign-in throttle's counters, shared by every process on the database.
CREATE TABLE attempts (
    key   TEXT PRIMARY KEY,
    count INTEGER NOT NULL,
    since INTEGER NOT NULL
);
