package components

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/cloudlabs/cloudlabs/components/platform"
	"github.com/cloudlabs/cloudlabs/internal/machine/role"
	"github.com/cloudlabs/cloudlabs/templates"
)

// Ports the roles listen on (before Layout.Port maps low ports).
const (
	HTTPPort      = 80
	FibonacciPort = 8080
	CachePort     = 11211
	CacheAdmin    = 8081
	MemcachedPort = 11211
	RiakPBPort    = 8087
	RiakHTTPPort  = 8098
	RiakEPMDPort  = 4369
	RiakHandoff   = 8099
	RiakDistFrom  = 6000
	RiakDistTo    = 6999
)

const binDir = "/opt/cloudlabs/bin/"

// download is the role's copy of an app binary, fetched and verified at boot.
func download(l platform.Layout, name, url, sha string) role.Download {
	return role.Download{Name: name, URL: url, SHA256: sha, Path: l.Path(binDir + name), Mode: "0755"}
}

func hostPort(host string, port int) string { return host + ":" + strconv.Itoa(port) }

// FibonacciRole is a fibonacci backend.
func FibonacciRole(l platform.Layout, url, sha string, maxN int) role.Role {
	return role.Role{
		Name:      "fibonacci",
		Downloads: []role.Download{download(l, "fibonacci", url, sha)},
		Services: []role.Service{{
			Name: "fibonacci", Exec: l.Path(binDir + "fibonacci"),
			Args:   []string{"--listen", hostPort(l.Bind, l.Port(FibonacciPort)), "--max-n", strconv.Itoa(maxN)},
			Port:   l.Port(FibonacciPort),
			Health: "/healthz", LimitNOFILE: 65536,
		}},
	}
}

// nginxState is the folder nginx keeps its pid, log and buffers in.
const nginxState = "/var/lib/cloudlabs/nginx"

// LBRole is the nginx load balancer in front of the fibonacci backends. The
// upstream list is a separate file (see UpstreamsFile) that follows the node
// count after boot, so the machine and its address outlive scaling.
func LBRole(l platform.Layout) (role.Role, error) {
	conf, err := templates.Render("nginx.conf.tmpl", map[string]any{
		"User":      lbWorkerUser(l),
		"State":     l.Path(nginxState),
		"Upstreams": l.Path(UpstreamsPath),
		"Upstream":  "fibonacci",
		"Bind":      l.Bind,
		"Port":      l.Port(HTTPPort),
	})
	if err != nil {
		return role.Role{}, err
	}
	confPath := l.Path(lbConfPath)
	return role.Role{
		Name:     "lb",
		Packages: []string{"nginx"},
		Files: []role.File{
			{Path: confPath, Content: conf, Mode: "0644"},
			// nginx creates its buffer folders but not their parent.
			{Path: l.Path(nginxState + "/.keep"), Content: "", Mode: "0644"},
		},
		// The distribution's own nginx would hold port 80.
		Setup: []string{"systemctl disable --now nginx"},
		Services: []role.Service{{
			Name: "nginx", Exec: "/usr/sbin/nginx",
			Args:   []string{"-c", confPath, "-e", l.Path(nginxState + "/error.log"), "-g", "daemon off;"},
			User:   "root", // the master binds port 80; workers drop to lbWorkerUser
			Port:   l.Port(HTTPPort),
			Health: "/lb-health", LimitNOFILE: 65536,
		}},
	}, nil
}

// lbWorkerUser is the user nginx workers run as: the dedicated user on a
// cloud machine; on the local twin nginx keeps the operator's user.
func lbWorkerUser(l platform.Layout) string {
	if l.Local {
		return ""
	}
	return role.ServiceUser
}

// UpstreamsPath is where the LB's upstream list lives on the machine.
const UpstreamsPath = "/etc/cloudlabs/nginx/upstreams.conf"

// UpstreamsReload makes nginx read a new upstream list without dropping
// connections.
func UpstreamsReload(l platform.Layout) string {
	return "/usr/sbin/nginx -c " + l.Path(lbConfPath) + " -s reload"
}

const lbConfPath = "/etc/cloudlabs/nginx/nginx.conf"

// UpstreamsFile renders the LB's upstream list for the given backends.
func UpstreamsFile(backends []string) (string, error) {
	if len(backends) == 0 {
		return "", fmt.Errorf("the load balancer needs at least one backend")
	}
	return templates.Render("nginx-upstreams.conf.tmpl", map[string]any{"Name": "fibonacci", "Servers": backends})
}

// CacheAdminTokenPath is where a cache node finds its admin token.
const CacheAdminTokenPath = "/etc/cloudlabs/cachenode-admin-token"

// CacheNodeRole is a node of the cache pool. tokenSecret names the stack
// secret holding the admin token, delivered to the node as a SecretFile
// the service user alone reads. The admin API listens on the machine's
// private address on a cloud (cachenode resolves "private" itself), on the
// host's own address on the twin.
func CacheNodeRole(l platform.Layout, url, sha string, capacityMB int, policy, tokenSecret string) role.Role {
	adminHost := "private"
	if l.Local {
		adminHost = l.Bind
	}
	return role.Role{
		Name:      "cachenode",
		Downloads: []role.Download{download(l, "cachenode", url, sha)},
		Secrets: []role.SecretFile{{
			Name: tokenSecret, Path: l.Path(CacheAdminTokenPath), Mode: "0600", Owner: owner(l),
		}},
		Services: []role.Service{{
			Name: "cachenode", Exec: l.Path(binDir + "cachenode"),
			Args: []string{
				"--listen", hostPort(l.Bind, l.Port(CachePort)),
				"--admin-listen", hostPort(adminHost, l.Port(CacheAdmin)),
				"--admin-token-file", l.Path(CacheAdminTokenPath),
				"--capacity", strconv.Itoa(capacityMB) + "MB",
				"--policy", policy,
			},
			Port: l.Port(CachePort), LimitNOFILE: 65536,
		}},
	}
}

// PhonebookRole is the phone book app with memcached beside it. store is
// the app's --store URL.
func PhonebookRole(l platform.Layout, url, sha, store string, ttlSeconds int) role.Role {
	// memcached serves only the app beside it: loopback on a cloud machine,
	// the host's own address on the local twin.
	mcHost := "127.0.0.1"
	if l.Local {
		mcHost = l.Bind
	}
	return role.Role{
		Name:      "phonebook",
		Packages:  []string{"memcached"},
		Downloads: []role.Download{download(l, "phonebook", url, sha)},
		Files:     []role.File{{Path: l.Path("/var/lib/cloudlabs/phonebook/.keep"), Content: "", Mode: "0644", Owner: owner(l)}},
		Setup:     []string{"systemctl disable --now memcached"},
		Services: []role.Service{
			{
				Name: "memcached", Exec: "/usr/bin/memcached",
				// -u applies only when started as root (the local twin run by root).
				Args: []string{"-l", mcHost, "-p", strconv.Itoa(MemcachedPort), "-U", "0", "-m", "64", "-c", "4096", "-u", "nobody"},
				Port: MemcachedPort, LimitNOFILE: 65536,
			},
			{
				Name: "phonebook", Exec: l.Path(binDir + "phonebook"),
				Args: []string{
					"--listen", hostPort(l.Bind, l.Port(HTTPPort)),
					"--store", store,
					"--memcached", hostPort(mcHost, MemcachedPort),
					"--cache-ttl", strconv.Itoa(ttlSeconds) + "s",
				},
				Port: l.Port(HTTPPort), Health: "/healthz", LimitNOFILE: 65536,
			},
		},
	}
}

func owner(l platform.Layout) string {
	if l.Local {
		return ""
	}
	return role.ServiceUser
}

// BoltStore is the phone book's embedded store on a machine of layout l.
func BoltStore(l platform.Layout) string {
	return "bolt://" + l.Path("/var/lib/cloudlabs/phonebook/contacts.db")
}

// RiakStore is the phone book's store URL for a Riak cluster, spreading
// requests over every node over protocol buffers.
func RiakStore(nodes []string) string {
	hp := make([]string, len(nodes))
	for i, n := range nodes {
		hp[i] = hostPort(n, RiakPBPort)
	}
	return "riak-pbc://" + strings.Join(hp, ",")
}

// RiakPackage pins the Riak release the nodes install.
type RiakPackage struct {
	URL    string
	SHA256 string
}

// Arch is the GOARCH the package is built for, read from the Debian file
// name (riak_3.4.0-OTP26_amd64.deb); "" when the URL does not say.
func (p RiakPackage) Arch() string {
	base := p.URL
	if i := strings.IndexAny(base, "?#"); i >= 0 {
		base = base[:i]
	}
	base = base[strings.LastIndex(base, "/")+1:]
	if !strings.HasSuffix(base, ".deb") {
		return ""
	}
	base = strings.TrimSuffix(base, ".deb")
	arch := base[strings.LastIndexAny(base, "_-.")+1:]
	switch arch {
	case "amd64", "x86_64":
		return "amd64"
	case "arm64", "aarch64":
		return "arm64"
	}
	return ""
}

// RiakCookiePath is where a Riak node finds the cluster's Erlang cookie,
// readable by root alone; the setup step copies it into riak.conf.
const RiakCookiePath = "/etc/cloudlabs/riak-cookie"

// RiakRole is one node of a Riak cluster. cookieSecret names the stack
// secret holding the Erlang cookie, delivered to the node as a SecretFile
// (never in the role's files); first is the private address of the node
// every other node joins, "" on the first node itself. The role does not
// depend on any app binary, so a new app never touches the nodes that hold
// the data.
func RiakRole(pkg RiakPackage, cookieSecret, first string, nodes int) (role.Role, error) {
	conf, err := templates.Render("riak.conf.tmpl", map[string]any{
		"RingSize": RingSize(nodes), "NVal": min(3, nodes),
		"DistFrom": RiakDistFrom, "DistTo": RiakDistTo,
	})
	if err != nil {
		return role.Role{}, err
	}
	setup, err := templates.Render("riak-setup.sh.tmpl", map[string]any{"CookiePath": RiakCookiePath})
	if err != nil {
		return role.Role{}, err
	}
	r := role.Role{
		Name:      "riak",
		Downloads: []role.Download{{Name: "riak", URL: pkg.URL, SHA256: pkg.SHA256, Path: "/opt/cloudlabs/riak.deb", Mode: "0644"}},
		Secrets:   []role.SecretFile{{Name: cookieSecret, Path: RiakCookiePath, Mode: "0600"}},
		Files: []role.File{
			{Path: "/etc/cloudlabs/riak.conf", Content: conf, Mode: "0600"},
			{Path: "/usr/local/sbin/cloudlabs-riak-setup", Content: setup, Mode: "0755"},
		},
		Setup:    []string{"/usr/local/sbin/cloudlabs-riak-setup"},
		Services: []role.Service{{Name: "riak", SystemdUnit: "riak", Exec: "/usr/sbin/riak", Port: RiakPBPort}},
	}
	if first != "" {
		join, err := templates.Render("riak-join.sh.tmpl", map[string]any{"First": first})
		if err != nil {
			return role.Role{}, err
		}
		r.Files = append(r.Files, role.File{Path: "/usr/local/sbin/cloudlabs-riak-join", Content: join, Mode: "0755"})
		r.Boot = []string{"/usr/local/sbin/cloudlabs-riak-join"}
	}
	return r, nil
}

// RingSize is the number of ring partitions: a power of two with at least
// eight partitions per node, and 64 (Riak's default) at the least.
func RingSize(nodes int) int {
	size := 64
	for size < nodes*8 {
		size *= 2
	}
	return size
}
