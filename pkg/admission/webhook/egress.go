package webhook

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"syscall"
	"time"
)

// resolveTimeout bounds the name resolution of a webhook URL's host when it is written.
const resolveTimeout = 5 * time.Second

// Egress decides which addresses tenants' webhooks may reach, so that a webhook URL cannot
// make the server send requests to itself or to the machine's private endpoints: loopback
// (unless AllowLoopback, for tests and development), link-local (cloud metadata services),
// unspecified and multicast addresses are refused. URLs are checked when a configuration is
// written (CheckURL) and every connection again when it is made (DialContext), so that a name
// that resolves to another address later (DNS rebinding) reaches nothing forbidden either.
type Egress struct {
	// AllowLoopback lets webhooks reach loopback addresses.
	AllowLoopback bool
	// Resolver resolves host names; net.DefaultResolver when nil.
	Resolver *net.Resolver
}

// Forbidden returns why ip may not be reached, or "" if it may.
func (e Egress) Forbidden(ip netip.Addr) string {
	ip = ip.Unmap()
	switch {
	case !ip.IsValid():
		return "not an IP address"
	case ip.IsLoopback() && !e.AllowLoopback:
		return "a loopback address"
	case ip.IsLinkLocalUnicast(), ip.IsLinkLocalMulticast():
		return "a link-local address"
	case ip.IsUnspecified():
		return "an unspecified address"
	case ip.IsMulticast(), ip.IsInterfaceLocalMulticast():
		return "a multicast address"
	}
	return ""
}

// CheckURL returns why a webhook may not be called at raw, or nil: it must be https, and its
// host must resolve, to addresses that may be reached only.
func (e Egress) CheckURL(ctx context.Context, raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("not a URL: %w", err)
	}
	if u.Scheme != "https" {
		return errors.New("'https' is the only allowed URL scheme")
	}
	host := u.Hostname()
	if host == "" {
		return errors.New("host must be specified")
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		if why := e.Forbidden(ip); why != "" {
			return fmt.Errorf("host %s is %s, which webhooks may not reach", host, why)
		}
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, resolveTimeout)
	defer cancel()
	ips, err := e.resolver().LookupNetIP(ctx, "ip", host)
	if err != nil || len(ips) == 0 {
		return fmt.Errorf("host %s does not resolve", host)
	}
	for _, ip := range ips {
		if why := e.Forbidden(ip); why != "" {
			return fmt.Errorf("host %s resolves to %s, %s, which webhooks may not reach", host, ip.Unmap(), why)
		}
	}
	return nil
}

// DialContext connects as net.Dialer does, but refuses to connect to an address that may not
// be reached, whatever name led there.
func (e Egress) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	d := net.Dialer{Resolver: e.Resolver, Control: func(_, address string, _ syscall.RawConn) error {
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return fmt.Errorf("failed to parse the address to dial %q: %w", address, err)
		}
		if why := e.Forbidden(ap.Addr()); why != "" {
			return fmt.Errorf("refusing to call a webhook at %s: %s", ap.Addr(), why)
		}
		return nil
	}}
	return d.DialContext(ctx, network, address)
}

func (e Egress) resolver() *net.Resolver {
	if e.Resolver != nil {
		return e.Resolver
	}
	return net.DefaultResolver
}
