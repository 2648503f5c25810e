package hostnet

import (
	"errors"
	"fmt"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Shape slows a host's link. Zero values leave that part alone; a zero
// Shape removes any shaping.
type Shape struct {
	// RateKbit caps the link both ways with tbf.
	RateKbit int
	// DelayMs and LossPct need netem, which this kernel may lack.
	DelayMs int
	LossPct float64
}

// Off reports whether the shape changes nothing.
func (s Shape) Off() bool { return s == Shape{} }

// ErrNoNetem says the kernel has no netem qdisc (sch_netem): delay and
// loss cannot be applied on this machine; the rate still is.
var ErrNoNetem = errors.New("netem is not available on this kernel (no sch_netem): delay and loss are not applied")

// Shape sets the host's link: netem with delay, loss and rate on eth0
// (what the host sends) when asked for delay or loss and the kernel has
// it; otherwise tbf at the rate on eth0; and tbf at the rate on the
// bridge's end of the veth (what the host receives). It returns
// ErrNoNetem (after applying the rate) when delay or loss could not be.
func (h Host) Shape(s Shape) error {
	ns, err := netns.GetFromPath(h.NamespacePath())
	if err != nil {
		return fmt.Errorf("host %s: shape: %w", h.Machine, err)
	}
	defer ns.Close()
	nh, err := netlink.NewHandleAt(ns)
	if err != nil {
		return fmt.Errorf("host %s: shape: %w", h.Machine, err)
	}
	defer nh.Close()
	eth, err := nh.LinkByName("eth0")
	if err != nil {
		return fmt.Errorf("host %s: shape: %w", h.Machine, err)
	}
	outer, err := netlink.LinkByName(vethName(h.Net.ID, h.Machine))
	if err != nil {
		return fmt.Errorf("host %s: shape: %w", h.Machine, err)
	}
	var netemErr error
	inner := func() error {
		if s.DelayMs > 0 || s.LossPct > 0 {
			q := netlink.NewNetem(rootOf(eth), netlink.NetemQdiscAttrs{
				Latency: uint32(s.DelayMs) * 1000, Loss: float32(s.LossPct), Rate64: uint64(s.RateKbit) * 125,
			})
			err := setRoot(nh, eth, q)
			if err == nil || !(errors.Is(err, unix.ENOENT) || errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.EINVAL)) {
				return err
			}
			netemErr = fmt.Errorf("host %s: %w (%v)", h.Machine, ErrNoNetem, err)
		}
		return setRoot(nh, eth, tbf(eth, s.RateKbit))
	}
	if err := inner(); err != nil {
		return fmt.Errorf("host %s: shape eth0: %w", h.Machine, err)
	}
	rh, err := netlink.NewHandle()
	if err != nil {
		return fmt.Errorf("host %s: shape: %w", h.Machine, err)
	}
	defer rh.Close()
	if err := setRoot(rh, outer, tbf(outer, s.RateKbit)); err != nil {
		return fmt.Errorf("host %s: shape %s: %w", h.Machine, outer.Attrs().Name, err)
	}
	return netemErr
}

// rootOf is the attributes of a link's root qdisc.
func rootOf(l netlink.Link) netlink.QdiscAttrs {
	return netlink.QdiscAttrs{LinkIndex: l.Attrs().Index, Handle: netlink.MakeHandle(1, 0), Parent: netlink.HANDLE_ROOT}
}

// tbf is a token bucket at rate (nil for 0: no shaping), with a burst of
// a tenth of a second's worth of bytes (at least 16 KiB) and a queue of a
// quarter second, like `tc qdisc add … tbf rate R burst B latency 250ms`.
func tbf(l netlink.Link, kbit int) netlink.Qdisc {
	if kbit <= 0 {
		return nil
	}
	rate := uint64(kbit) * 125 // bytes per second
	burst := uint32(max(rate/10, 16<<10))
	return &netlink.Tbf{
		QdiscAttrs: rootOf(l),
		Rate:       rate,
		Buffer:     netlink.Xmittime(rate, burst),
		Limit:      uint32(rate/4) + burst,
	}
}

// setRoot replaces the link's root qdisc with q (nil: back to the
// kernel's default).
func setRoot(h *netlink.Handle, l netlink.Link, q netlink.Qdisc) error {
	qs, err := h.QdiscList(l)
	if err != nil {
		return err
	}
	for _, old := range qs {
		if old.Attrs().Parent == netlink.HANDLE_ROOT && old.Attrs().Handle != 0 && old.Type() != "noqueue" {
			if err := h.QdiscDel(old); err != nil && !errors.Is(err, unix.ENOENT) {
				return fmt.Errorf("delete qdisc %s: %w", old.Type(), err)
			}
		}
	}
	if q == nil {
		return nil
	}
	if err := h.QdiscAdd(q); err != nil {
		return fmt.Errorf("add qdisc %s: %w", q.Type(), err)
	}
	return nil
}

// Qdiscs lists the root qdisc types of the host's eth0 and of the
// bridge's end of its veth, for tests and diagnostics.
func (h Host) Qdiscs() (inner, outer string, err error) {
	ns, err := netns.GetFromPath(h.NamespacePath())
	if err != nil {
		return "", "", err
	}
	defer ns.Close()
	nh, err := netlink.NewHandleAt(ns)
	if err != nil {
		return "", "", err
	}
	defer nh.Close()
	rh, err := netlink.NewHandle()
	if err != nil {
		return "", "", err
	}
	defer rh.Close()
	eth, err := nh.LinkByName("eth0")
	if err != nil {
		return "", "", err
	}
	o, err := rh.LinkByName(vethName(h.Net.ID, h.Machine))
	if err != nil {
		return "", "", err
	}
	root := func(hd *netlink.Handle, l netlink.Link) string {
		qs, _ := hd.QdiscList(l)
		for _, q := range qs {
			if q.Attrs().Parent == netlink.HANDLE_ROOT {
				return q.Type()
			}
		}
		return ""
	}
	return root(nh, eth), root(rh, o), nil
}
