package poolreport

import (
	"bufio"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"time"

	"github.com/cloudlabs/cloudlabs/internal/measure/imageset"
)

// Report is everything a run measured and everything it depended on.
type Report struct {
	Command   string   `json:"command"`
	Config    Config   `json:"config"`
	Scenarios []string `json:"scenarios"`
	Machine   Machine  `json:"machine"`
	Target    Target   `json:"target"`
	Initial   Initial  `json:"initial"`
	// Scheme is the gallery's ring scheme, read from its /metrics.
	Scheme              string    `json:"scheme"`
	GalleryExportsEpoch bool      `json:"gallery_exports_epoch"`
	ImageSet            ImageSet  `json:"image_set"`
	Started             time.Time `json:"started"`
	Finished            time.Time `json:"finished"`

	Manual   []ManualRun     `json:"manual"`
	Noise    *Noise          `json:"noise,omitempty"`
	Auto     []AutoRun       `json:"auto"`
	Movement *MovementResult `json:"movement,omitempty"`

	Errors      []string `json:"errors,omitempty"`
	Interrupted bool     `json:"interrupted"`
	Restored    []string `json:"restored,omitempty"`
	Left        []string `json:"not_restored,omitempty"`

	images []imageset.Image
}

// Target is the deployment measured.
type Target struct {
	Stack      string `json:"stack,omitempty"`
	GalleryURL string `json:"gallery_url"`
	ManagerURL string `json:"manager_url"`
}

// Initial is the pool as the run found it (and put it back).
type Initial struct {
	Nodes          int    `json:"nodes"`
	Mode           string `json:"mode"`
	MaxNodes       int    `json:"max_nodes"`
	CapacityBytes  int64  `json:"capacity_bytes"`
	EvictionPolicy string `json:"eviction_policy"`
	Policy         Policy `json:"policy"`
}

// ImageSet summarizes the generated images.
type ImageSet struct {
	Count int   `json:"count"`
	Bytes int64 `json:"bytes"`
	PNG   int   `json:"png"`
	JPEG  int   `json:"jpeg"`
	// MinBytes and MaxBytes of a single file.
	MinBytes int `json:"min_bytes"`
	MaxBytes int `json:"max_bytes"`
}

func summarize(ims []imageset.Image) ImageSet {
	s := ImageSet{Count: len(ims)}
	for i, im := range ims {
		n := len(im.Data)
		s.Bytes += int64(n)
		if im.ContentType == "image/jpeg" {
			s.JPEG++
		} else {
			s.PNG++
		}
		if i == 0 || n < s.MinBytes {
			s.MinBytes = n
		}
		s.MaxBytes = max(s.MaxBytes, n)
	}
	return s
}

// Machine is where the report was made.
type Machine struct {
	Hostname string `json:"hostname"`
	OS       string `json:"os"`
	Arch     string `json:"arch"`
	CPUs     int    `json:"cpus"`
	CPUModel string `json:"cpu_model,omitempty"`
	MemoryKB int64  `json:"memory_kb,omitempty"`
	Go       string `json:"go"`
	Revision string `json:"revision,omitempty"`
}

// ThisMachine describes the machine running the report.
func ThisMachine() Machine {
	m := Machine{OS: runtime.GOOS, Arch: runtime.GOARCH, CPUs: runtime.NumCPU(), Go: runtime.Version()}
	m.Hostname, _ = os.Hostname()
	m.CPUModel = procField("/proc/cpuinfo", "model name")
	if kb := procField("/proc/meminfo", "MemTotal"); kb != "" {
		var n int64
		for _, c := range strings.TrimSuffix(kb, " kB") {
			if c >= '0' && c <= '9' {
				n = n*10 + int64(c-'0')
			}
		}
		m.MemoryKB = n
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				m.Revision = s.Value
			}
		}
	}
	return m
}

func procField(path, key string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
