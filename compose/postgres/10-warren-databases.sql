-- Run once by the postgres image on an empty data directory (/docker-entrypoint-initdb.d/), as POSTGRES_USER
-- (warren, the owner of everything here): one database per worker, as scripts/services.sh creates them locally.
CREATE DATABASE warren_users OWNER warren;
CREATE DATABASE warren_orders OWNER warren;
