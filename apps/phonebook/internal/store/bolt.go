package store

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/cloudlabs/cloudlabs/apps/phonebook/internal/contact"
)

var boltBucket = []byte("contacts")

// Bolt is the embedded store: one bbolt file, keys are names, values the
// contact's JSON. bbolt serialises writers and lets readers run in
// parallel, so a Bolt is safe for concurrent use.
type Bolt struct {
	db *bolt.DB
}

// OpenBolt opens (or creates) the file at path. A second process opening the
// same file fails after a second instead of hanging on the file lock.
func OpenBolt(path string) (*Bolt, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		return nil, fmt.Errorf("open bolt store %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(boltBucket)
		return err
	})
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("create bucket in %s: %w", path, err)
	}
	return &Bolt{db: db}, nil
}

// Get implements Store.
func (b *Bolt) Get(_ context.Context, name string) (contact.Contact, error) {
	var c contact.Contact
	err := b.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(boltBucket).Get([]byte(name))
		if v == nil {
			return ErrNotFound
		}
		return json.Unmarshal(v, &c)
	})
	if err != nil && err != ErrNotFound {
		return c, fmt.Errorf("bolt get %q: %w", name, err)
	}
	return c, err
}

// Put implements Store; it returns after the write is fsynced.
func (b *Bolt) Put(_ context.Context, c contact.Contact) error {
	v, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("encode %q: %w", c.Name, err)
	}
	if err := b.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(boltBucket).Put([]byte(c.Name), v)
	}); err != nil {
		return fmt.Errorf("bolt put %q: %w", c.Name, err)
	}
	return nil
}

// List implements Store with a cursor: bbolt keeps keys in byte order.
func (b *Bolt) List(_ context.Context, after string, limit int) ([]contact.Contact, error) {
	if err := checkLimit(limit); err != nil {
		return nil, err
	}
	var out []contact.Contact
	err := b.db.View(func(tx *bolt.Tx) error {
		cur := tx.Bucket(boltBucket).Cursor()
		k, v := cur.Seek([]byte(after))
		if k != nil && bytes.Equal(k, []byte(after)) {
			k, v = cur.Next()
		}
		for ; k != nil && len(out) < limit; k, v = cur.Next() {
			var c contact.Contact
			if err := json.Unmarshal(v, &c); err != nil {
				return fmt.Errorf("decode %q: %w", k, err)
			}
			out = append(out, c)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("bolt list after %q: %w", after, err)
	}
	return out, nil
}

// Close implements Store.
func (b *Bolt) Close() error { return b.db.Close() }
