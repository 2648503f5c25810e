-- +goose Up
CREATE TABLE IF NOT EXISTS images (
	key          text COLLATE "C" PRIMARY KEY,
	object       text NOT NULL UNIQUE,
	content_type text NOT NULL,
	size         bigint NOT NULL CHECK (size >= 0),
	sha256       text NOT NULL,
	uploaded_at  timestamptz NOT NULL
);

-- +goose Down
DROP TABLE IF EXISTS images;
