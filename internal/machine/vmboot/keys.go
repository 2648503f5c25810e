package vmboot

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"strings"

	"golang.org/x/crypto/ssh"
)

// Keys are a boot's SSH keys, made fresh for each boot: the login key
// this computer signs in with and the guest's host key, pinned before the
// guest first answers (never trusted on first use).
type Keys struct {
	Login ssh.Signer
	// LoginAuthorized is the login key's authorized_keys line.
	LoginAuthorized string
	// HostPrivate is the host key in OpenSSH's PEM format, as sshd reads
	// it; HostPublic its authorized_keys line, the pin.
	HostPrivate, HostPublic string
}

// NewKeys makes a boot's keys; comment names the machine.
func NewKeys(comment string) (Keys, error) {
	_, login, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return Keys{}, err
	}
	signer, err := ssh.NewSignerFromKey(login)
	if err != nil {
		return Keys{}, err
	}
	_, host, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return Keys{}, err
	}
	block, err := ssh.MarshalPrivateKey(host, comment)
	if err != nil {
		return Keys{}, fmt.Errorf("host key: %w", err)
	}
	hostPub, err := ssh.NewPublicKey(host.Public())
	if err != nil {
		return Keys{}, err
	}
	line := func(k ssh.PublicKey) string {
		return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k))) + " " + comment
	}
	return Keys{
		Login:           signer,
		LoginAuthorized: line(signer.PublicKey()),
		HostPrivate:     string(pem.EncodeToMemory(block)),
		HostPublic:      line(hostPub),
	}, nil
}
