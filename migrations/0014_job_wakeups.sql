-- PostgreSQL only (a trigger that wakes other replicas when jobs are added): one SQLite process
-- wakes its own workers. Kept so both backends share migration versions.
SELECT 1;
