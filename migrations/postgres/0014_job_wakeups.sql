-- Replicas wake each other: adding jobs notifies `globallm_jobs` (sent when the transaction
-- commits; one notification per statement, however many rows it added).
CREATE FUNCTION globallm_jobs_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('globallm_jobs', '');
    RETURN NULL;
END;
$$;

CREATE TRIGGER jobs_added AFTER INSERT ON jobs
    FOR EACH STATEMENT EXECUTE FUNCTION globallm_jobs_added();
