-- The GitHub App: redeliveries GlobalLM asked GitHub for (the catch-up job), so a delivery
-- that failed is asked for again only after a pause and a bounded number of times.
CREATE TABLE redelivery_requests (
    guid             TEXT    PRIMARY KEY,
    hook_delivery_id BIGINT NOT NULL,
    requests         BIGINT NOT NULL,
    requested_at     BIGINT NOT NULL
);
