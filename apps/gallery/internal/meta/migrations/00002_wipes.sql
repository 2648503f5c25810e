-- +goose Up
-- The pool manager's "delete all data" asks here (a row); the gallery
-- does the deleting (it holds the bucket's keys) and says when it is done.
CREATE TABLE IF NOT EXISTS gallery_wipes (
	id           bigserial PRIMARY KEY,
	requested_at timestamptz NOT NULL DEFAULT now(),
	done_at      timestamptz,
	deleted      bigint,
	error        text
);

-- +goose Down
DROP TABLE IF EXISTS gallery_wipes;
