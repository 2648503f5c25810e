-- +goose Up
CREATE TABLE IF NOT EXISTS pool (
	id             integer PRIMARY KEY CHECK (id = 1),
	active         integer NOT NULL CHECK (active BETWEEN 1 AND 8),
	epoch          bigint NOT NULL,
	capacity_bytes bigint NOT NULL CHECK (capacity_bytes >= 0),
	cache_policy   text NOT NULL,
	autoscale      jsonb NOT NULL,
	updated_at     timestamptz NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE IF EXISTS pool;
