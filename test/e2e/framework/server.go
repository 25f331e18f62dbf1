package framework

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

var (
	tempDirsMu sync.Mutex
	tempDirs   []string
)

// TempDir makes a directory that outlives single tests (e.g. for built binaries shared by
// parallel tests) and is removed by Cleanup.
func TempDir(prefix string) (string, error) {
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		return "", err
	}
	tempDirsMu.Lock()
	defer tempDirsMu.Unlock()
	tempDirs = append(tempDirs, dir)
	return dir, nil
}

// Cleanup removes the directories made by TempDir; call it when the test binary is done.
func Cleanup() {
	tempDirsMu.Lock()
	defer tempDirsMu.Unlock()
	for _, d := range tempDirs {
		_ = os.RemoveAll(d)
	}
	tempDirs = nil
}

// RepoRoot returns the root of the source tree.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..")
}

// Binary builds the accountmesh binary once per test process, stamped as make build stamps it,
// and returns its path.
var Binary = sync.OnceValues(func() (string, error) {
	repo := RepoRoot()
	dir, err := TempDir("accountmesh-e2e-bin-")
	if err != nil {
		return "", err
	}
	ldflags, err := exec.Command(filepath.Join(repo, "hack", "ldflags.sh")).Output()
	if err != nil {
		return "", fmt.Errorf("failed to compute the version ldflags: %w", err)
	}
	bin := filepath.Join(dir, "accountmesh")
	cmd := exec.Command("go", "build", "-ldflags", strings.TrimSpace(string(ldflags)), "-o", bin, "./cmd/accountmesh")
	cmd.Dir = repo
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("failed to build accountmesh: %w\n%s", err, out)
	}
	return bin, nil
})

// Server is a running accountmesh process.
type Server struct {
	// RootDir is the server's --root-dir.
	RootDir string
	// Kubeconfig is the admin kubeconfig the server wrote, for the root account.
	Kubeconfig string
	// BaseURL is https://HOST:PORT, without an account.
	BaseURL string
	// Config is the admin client config for the root account.
	Config *rest.Config

	args []string
	cmd  *exec.Cmd
	// done is closed when the process exits; exitErr is then its exit status.
	done    chan struct{}
	exitErr error
	log     *os.File
}

// StartServer starts accountmesh with a root directory, extra flags, and waits until it is
// ready. The server listens on a free loopback port.
func StartServer(ctx context.Context, rootDir string, extraArgs ...string) (*Server, error) {
	s := &Server{
		RootDir:    rootDir,
		Kubeconfig: filepath.Join(rootDir, "admin.kubeconfig"),
		args:       append([]string{"start", "--root-dir", rootDir, "--listen", "127.0.0.1:0"}, extraArgs...),
	}
	return s, s.Start(ctx)
}

// Start starts the (stopped) server process again with the same flags.
func (s *Server) Start(ctx context.Context) error {
	bin, err := Binary()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(s.RootDir, 0o700); err != nil {
		return err
	}
	_ = os.Remove(s.Kubeconfig)
	if s.log, err = os.OpenFile(filepath.Join(s.RootDir, "server.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600); err != nil {
		return err
	}
	s.cmd = exec.Command(bin, s.args...)
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	if err := s.cmd.Start(); err != nil {
		return fmt.Errorf("failed to start accountmesh: %w", err)
	}
	s.done = make(chan struct{})
	go func() {
		s.exitErr = s.cmd.Wait()
		close(s.done)
	}()
	if err := s.waitReady(ctx); err != nil {
		s.Stop()
		return fmt.Errorf("%w; server log:\n%s", err, s.LogTail())
	}
	return nil
}

func (s *Server) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	for {
		select {
		case <-s.done:
			return fmt.Errorf("accountmesh exited before it was ready: %w", s.exitErr)
		case <-ctx.Done():
			return fmt.Errorf("accountmesh was not ready in time: %w", ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
		cfg, err := clientcmd.BuildConfigFromFlags("", s.Kubeconfig)
		if err != nil {
			continue
		}
		kube, err := kubernetes.NewForConfig(cfg)
		if err != nil {
			return err
		}
		body, err := kube.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		if err != nil || strings.TrimSpace(string(body)) != "ok" {
			continue
		}
		s.Config = cfg
		s.BaseURL = strings.TrimSuffix(cfg.Host, "/clusters/root")
		return nil
	}
}

// Stop stops the server gracefully (SIGTERM), killing it if it does not exit in time.
func (s *Server) Stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
	s.cmd = nil
	if s.log != nil {
		_ = s.log.Close()
	}
}

// Signal sends sig to the server process without waiting for it to exit; Exited tells when it
// has.
func (s *Server) Signal(sig os.Signal) error {
	if s.cmd == nil || s.cmd.Process == nil {
		return fmt.Errorf("accountmesh is not running")
	}
	return s.cmd.Process.Signal(sig)
}

// Exited is closed when the process started last has exited; ExitErr is then its exit status.
func (s *Server) Exited() <-chan struct{} { return s.done }

// ExitErr returns the exit status of the process once Exited is closed.
func (s *Server) ExitErr() error { return s.exitErr }

// Log returns the whole server log.
func (s *Server) Log() (string, error) {
	b, err := os.ReadFile(filepath.Join(s.RootDir, "server.log"))
	return string(b), err
}

// Kill stops the server abruptly, as a crash would.
func (s *Server) Kill() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	<-s.done
	s.cmd = nil
	if s.log != nil {
		_ = s.log.Close()
	}
}

// LogTail returns the end of the server log.
func (s *Server) LogTail() string {
	b, err := os.ReadFile(filepath.Join(s.RootDir, "server.log"))
	if err != nil {
		return err.Error()
	}
	const max = 8000
	if len(b) > max {
		b = b[len(b)-max:]
	}
	return string(b)
}

// URL returns the URL of an account: BaseURL/clusters/<pathOrID>.
func (s *Server) URL(pathOrID string) string {
	return s.BaseURL + "/clusters/" + pathOrID
}

// ConfigFor returns the admin client config for an account path or cluster ID.
func (s *Server) ConfigFor(pathOrID string) *rest.Config {
	cfg := rest.CopyConfig(s.Config)
	cfg.Host = s.URL(pathOrID)
	return cfg
}

// PID returns the server's process ID, or 0 if it is not running.
func (s *Server) PID() int {
	if s.cmd == nil || s.cmd.Process == nil {
		return 0
	}
	return s.cmd.Process.Pid
}
