// Package blob keeps image bytes in an S3 bucket through aws-sdk-go-v2's s3
// client: one client for AWS S3 and for any S3-compatible endpoint (the
// twin's versitygw), which then takes path-style addressing.
package blob

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

// ErrNotFound means the bucket has no object of that name.
var ErrNotFound = errors.New("no such object")

// Options say where the bucket is.
type Options struct {
	Bucket string
	// Region is required by the signer; any value works for versitygw.
	Region string
	// Endpoint, when set, is an S3-compatible base URL
	// (http://127.0.0.1:7070); requests then use path-style addressing.
	// Empty means AWS S3 itself.
	Endpoint string
	// AccessKey and SecretKey, when both set, are static credentials;
	// otherwise the SDK's default chain applies (AWS_ACCESS_KEY_ID and
	// AWS_SECRET_ACCESS_KEY, shared config files, the instance role).
	AccessKey, SecretKey string
	// MaxObject bounds what Get reads (a corrupted or foreign object must
	// not exhaust memory); 0 means no bound.
	MaxObject int64
}

// Store is one bucket. Safe for concurrent use (the s3 client is).
type Store struct {
	client    *s3.Client
	bucket    string
	maxObject int64
}

// Open builds the client; it does not contact the endpoint.
func Open(ctx context.Context, o Options) (*Store, error) {
	if o.Bucket == "" {
		return nil, errors.New("no bucket named")
	}
	if o.Region == "" {
		return nil, errors.New("no region named (any value works for an S3-compatible endpoint)")
	}
	loads := []func(*awsconfig.LoadOptions) error{awsconfig.WithRegion(o.Region)}
	if o.AccessKey != "" || o.SecretKey != "" {
		if o.AccessKey == "" || o.SecretKey == "" {
			return nil, errors.New("give both the access key and the secret key, or neither")
		}
		loads = append(loads, awsconfig.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(o.AccessKey, o.SecretKey, "")))
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, loads...)
	if err != nil {
		return nil, fmt.Errorf("load AWS configuration: %w", err)
	}
	client := s3.NewFromConfig(cfg, func(so *s3.Options) {
		if o.Endpoint != "" {
			so.BaseEndpoint = aws.String(o.Endpoint)
			so.UsePathStyle = true
		}
	})
	return &Store{client: client, bucket: o.Bucket, maxObject: o.MaxObject}, nil
}

// Client exposes the s3 client (tests create buckets and plant objects).
func (s *Store) Client() *s3.Client { return s.client }

// Bucket names the bucket.
func (s *Store) Bucket() string { return s.bucket }

// EnsureBucket creates the bucket unless it exists.
func (s *Store) EnsureBucket(ctx context.Context) error {
	if _, err := s.client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: &s.bucket}); err == nil {
		return nil
	}
	_, err := s.client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &s.bucket})
	var owned *types.BucketAlreadyOwnedByYou
	if err != nil && !errors.As(err, &owned) {
		return fmt.Errorf("create bucket %s: %w", s.bucket, err)
	}
	return nil
}

// Put stores data under name.
func (s *Store) Put(ctx context.Context, name string, data []byte, contentType string) error {
	_, err := s.client.PutObject(ctx, &s3.PutObjectInput{
		Bucket:        &s.bucket,
		Key:           &name,
		Body:          bytes.NewReader(data),
		ContentLength: aws.Int64(int64(len(data))),
		ContentType:   &contentType,
	})
	if err != nil {
		return fmt.Errorf("put object %s: %w", name, err)
	}
	return nil
}

// Get returns the object's bytes, or ErrNotFound.
func (s *Store) Get(ctx context.Context, name string) ([]byte, error) {
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: &s.bucket, Key: &name})
	if err != nil {
		if notFound(err) {
			return nil, ErrNotFound
		}
		return nil, fmt.Errorf("get object %s: %w", name, err)
	}
	defer out.Body.Close()
	var r io.Reader = out.Body
	if s.maxObject > 0 {
		r = io.LimitReader(out.Body, s.maxObject+1)
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read object %s: %w", name, err)
	}
	if s.maxObject > 0 && int64(len(data)) > s.maxObject {
		return nil, fmt.Errorf("object %s is larger than %d bytes", name, s.maxObject)
	}
	return data, nil
}

// Delete removes the object; a missing object is not an error.
func (s *Store) Delete(ctx context.Context, name string) error {
	if _, err := s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &s.bucket, Key: &name}); err != nil && !notFound(err) {
		return fmt.Errorf("delete object %s: %w", name, err)
	}
	return nil
}

// Object is one listed object.
type Object struct {
	Name         string
	LastModified time.Time
}

// List calls f with each page of objects whose names start with prefix.
func (s *Store) List(ctx context.Context, prefix string, f func([]Object) error) error {
	p := s3.NewListObjectsV2Paginator(s.client, &s3.ListObjectsV2Input{Bucket: &s.bucket, Prefix: &prefix})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("list objects under %q: %w", prefix, err)
		}
		objs := make([]Object, 0, len(page.Contents))
		for _, o := range page.Contents {
			objs = append(objs, Object{Name: aws.ToString(o.Key), LastModified: aws.ToTime(o.LastModified)})
		}
		if err := f(objs); err != nil {
			return err
		}
	}
	return nil
}

func notFound(err error) bool {
	var nsk *types.NoSuchKey
	var nf *types.NotFound
	if errors.As(err, &nsk) || errors.As(err, &nf) {
		return true
	}
	var api smithy.APIError
	return errors.As(err, &api) && (api.ErrorCode() == "NoSuchKey" || api.ErrorCode() == "NotFound")
}
