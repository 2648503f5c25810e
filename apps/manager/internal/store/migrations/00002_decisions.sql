-- +goose Up
CREATE TABLE IF NOT EXISTS decisions (
	id          bigserial PRIMARY KEY,
	at          timestamptz NOT NULL,
	cause       text NOT NULL,
	rule        text NOT NULL,
	from_nodes  integer NOT NULL,
	to_nodes    integer NOT NULL,
	outcome     text NOT NULL,
	reason      text NOT NULL,
	inputs      jsonb NOT NULL,
	duration_ms double precision NOT NULL
);

-- +goose Down
DROP TABLE IF EXISTS decisions;
