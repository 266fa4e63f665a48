-- The scheduler serves one database, spawn.database ('regression' in the test configuration).
-- Created anywhere else, spawn's casts would wait forever: CREATE EXTENSION refuses, with a
-- hint. (test/shell/databases_test.sh covers a database that holds the extension anyway.)
\set SHOW_CONTEXT never
SELECT current_setting('spawn.database') AS served;
CREATE DATABASE spawn_elsewhere;
\c spawn_elsewhere
CREATE EXTENSION spawn;
SELECT count(*) AS installed FROM pg_extension WHERE extname = 'spawn';
\c regression
DROP DATABASE spawn_elsewhere;
SELECT count(*) AS installed FROM pg_extension WHERE extname = 'spawn';
