// Package images is the gallery's storage logic: image bytes in a bucket,
// the key → object mapping in PostgreSQL, recently read images in the
// memcached pool.
//
// Upload order, so a key never points to a missing object:
//
//  1. put the bytes under a fresh object name (sha256 + random suffix);
//  2. upsert the key's row in a transaction (it returns the replaced name);
//     if that fails, delete the new object;
//  3. invalidate the key in the cache;
//  4. delete the replaced object.
//
// A crash (or a failed delete) between 1 and 2, or in 4, leaves an object
// no row references: GC deletes such orphans, sparing objects younger than
// a grace period, which may belong to an upload still between 1 and 2.
// A reader that read the old row just before step 4 finds its object gone
// and reads the row again.
package images

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/cloudlabs/cloudlabs/apps/gallery/internal/blob"
	"github.com/cloudlabs/cloudlabs/apps/gallery/internal/cache"
	"github.com/cloudlabs/cloudlabs/apps/gallery/internal/meta"
	"github.com/prometheus/client_golang/prometheus"
)

// ObjectPrefix is where image objects live in the bucket; GC looks only
// there, so other objects in a shared bucket are safe.
const ObjectPrefix = "images/"

// Errors the HTTP layer maps to statuses.
var (
	ErrNotFound = errors.New("no image has this key")
	ErrNotImage = errors.New("not an image")
)

// Service stores and reads images. Safe for concurrent use.
type Service struct {
	Meta   *meta.Store
	Blobs  *blob.Store
	Cache  *cache.Pool // nil: no cache
	Logger *slog.Logger

	storeErrors *prometheus.CounterVec
}

// NewService wires the parts; reg receives the store error counter.
func NewService(m *meta.Store, b *blob.Store, c *cache.Pool, logger *slog.Logger, reg prometheus.Registerer) *Service {
	s := &Service{Meta: m, Blobs: b, Cache: c, Logger: logger,
		storeErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "gallery", Name: "store_errors_total",
			Help: "Failed calls to the database (store=db) or the bucket (store=bucket), by operation.",
		}, []string{"store", "op"}),
	}
	if reg != nil {
		reg.MustRegister(s.storeErrors)
	}
	return s
}

func (s *Service) failed(store, op string, err error) error {
	s.storeErrors.WithLabelValues(store, op).Inc()
	return err
}

// Image is one stored image.
type Image struct {
	Key         string
	ContentType string
	Data        []byte
}

// Upload stores data under key, replacing any image the key had.
func (s *Service) Upload(ctx context.Context, key string, data []byte) error {
	if err := CheckKey(key); err != nil {
		return err
	}
	ct := Detect(data)
	if ct == "" {
		return ErrNotImage
	}
	sum := sha256.Sum256(data)
	var suffix [8]byte
	_, _ = rand.Read(suffix[:])
	name := ObjectPrefix + hex.EncodeToString(sum[:]) + "-" + hex.EncodeToString(suffix[:])
	if err := s.Blobs.Put(ctx, name, data, ct); err != nil {
		return s.failed("bucket", "put", err)
	}
	replaced, err := s.Meta.Put(ctx, meta.Row{
		Key: key, Object: name, ContentType: ct, Size: int64(len(data)),
		SHA256: hex.EncodeToString(sum[:]), UploadedAt: time.Now().UTC(),
	})
	if err != nil {
		// The request may be canceled: clean up regardless.
		if derr := s.Blobs.Delete(context.WithoutCancel(ctx), name); derr != nil {
			s.Logger.Warn("delete object of a failed upload; gc will collect it", "object", name, "err", derr)
		}
		return s.failed("db", "put", err)
	}
	if s.Cache != nil {
		s.Cache.Invalidate(key)
	}
	if replaced != "" {
		if err := s.Blobs.Delete(context.WithoutCancel(ctx), replaced); err != nil {
			s.failed("bucket", "delete", err)
			s.Logger.Warn("delete replaced object; gc will collect it", "object", replaced, "err", err)
		}
	}
	return nil
}

// Get returns key's image, from the cache when it can.
func (s *Service) Get(ctx context.Context, key string) (Image, error) {
	if err := CheckKey(key); err != nil {
		return Image{}, err
	}
	var fill cache.Fill
	if s.Cache != nil {
		e, f, ok := s.Cache.Get(key)
		if ok {
			return Image{Key: key, ContentType: e.ContentType, Data: e.Data}, nil
		}
		fill = f
	}
	img, err := s.read(ctx, key)
	if err != nil {
		return img, err
	}
	if s.Cache != nil {
		s.Cache.Fill(key, fill, cache.Entry{ContentType: img.ContentType, Data: img.Data})
	}
	return img, nil
}

// read reads the row, then the object. The object can vanish between the
// two when an upload replaces the key; the row then names a newer object.
func (s *Service) read(ctx context.Context, key string) (Image, error) {
	last := ""
	for attempt := 0; ; attempt++ {
		row, err := s.Meta.Get(ctx, key)
		if errors.Is(err, meta.ErrNotFound) {
			return Image{}, ErrNotFound
		}
		if err != nil {
			return Image{}, s.failed("db", "get", err)
		}
		data, err := s.Blobs.Get(ctx, row.Object)
		if err == nil {
			return Image{Key: key, ContentType: row.ContentType, Data: data}, nil
		}
		if !errors.Is(err, blob.ErrNotFound) {
			return Image{}, s.failed("bucket", "get", err)
		}
		if row.Object == last || attempt >= 3 {
			return Image{}, s.failed("bucket", "get", fmt.Errorf("key %q names object %s, which the bucket lacks", key, row.Object))
		}
		last = row.Object
	}
}

// Keys lists keys after after, at most limit (<= 0: all).
func (s *Service) Keys(ctx context.Context, after string, limit int) ([]string, error) {
	keys, err := s.Meta.Keys(ctx, after, limit)
	if err != nil {
		return nil, s.failed("db", "list", err)
	}
	return keys, nil
}

// GCResult counts what GC saw.
type GCResult struct {
	Scanned, Referenced, Young, Deleted int
}

// GC deletes objects under ObjectPrefix that no row references and that
// were last modified before now-grace. The grace protects uploads between
// their object put and their row commit; keep it well above the request
// timeout.
func (s *Service) GC(ctx context.Context, grace time.Duration) (GCResult, error) {
	var res GCResult
	cutoff := time.Now().Add(-grace)
	err := s.Blobs.List(ctx, ObjectPrefix, func(objs []blob.Object) error {
		names := make([]string, len(objs))
		for i, o := range objs {
			names[i] = o.Name
		}
		res.Scanned += len(objs)
		ref, err := s.Meta.Referenced(ctx, names)
		if err != nil {
			return err
		}
		for _, o := range objs {
			switch {
			case ref[o.Name]:
				res.Referenced++
			case o.LastModified.After(cutoff):
				res.Young++
			default:
				if err := s.Blobs.Delete(ctx, o.Name); err != nil {
					return err
				}
				res.Deleted++
			}
		}
		return nil
	})
	if err != nil {
		return res, fmt.Errorf("gc: %w", err)
	}
	s.Logger.Info("gc", "scanned", res.Scanned, "referenced", res.Referenced, "young", res.Young, "deleted", res.Deleted, "grace", grace)
	return res, nil
}

// DeleteAll deletes every image: the rows first (so none names a deleted
// object), then every object under ObjectPrefix (the rows' and any
// orphan's), then every cached copy. It returns how many images there were.
func (s *Service) DeleteAll(ctx context.Context) (int, error) {
	objects, err := s.Meta.DeleteAll(ctx)
	if err != nil {
		return 0, s.failed("database", "delete all", err)
	}
	err = s.Blobs.List(ctx, ObjectPrefix, func(objs []blob.Object) error {
		for _, o := range objs {
			if err := s.Blobs.Delete(ctx, o.Name); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return len(objects), s.failed("object store", "delete all", err)
	}
	if s.Cache != nil {
		s.Cache.Clear()
	}
	s.Logger.Info("deleted all images", "images", len(objects))
	return len(objects), nil
}

// RunWipes does the pool manager's "delete all data" requests (rows of
// gallery_wipes) as they come, checking every interval, until ctx ends.
func (s *Service) RunWipes(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if err := s.WipeOnce(ctx); err != nil && ctx.Err() == nil {
			s.Logger.Warn("delete all data", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// WipeOnce does every pending request with one deletion.
func (s *Service) WipeOnce(ctx context.Context) error {
	ids, err := s.Meta.PendingWipes(ctx)
	if err != nil || len(ids) == 0 {
		return err
	}
	n, err := s.DeleteAll(ctx)
	failure := ""
	if err != nil {
		failure = err.Error()
	}
	return errors.Join(err, s.Meta.FinishWipes(ctx, ids, n, failure))
}
