// Command anchor is the benchmark yardstick for the fibonacci server: the
// barest Go net/http handler, answering every request with the lab's fixed
// reply, served with the same production timeouts (appkit.NewHTTPServer).
//
// scripts/bench-fibonacci.sh reports the server's requests per second as a
// ratio to this program's, measured in the same run.
package main

import (
	"flag"
	"net/http"
	"os"

	"github.com/cloudlabs/cloudlabs/internal/appkit"
)

var body = []byte(`{"fibonacci_number": 20, "value": 6765}`)

func main() {
	listen := flag.String("listen", "127.0.0.1:8081", "address to serve on")
	flag.Parse()
	logger := appkit.NewLogger("anchor")
	h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	})
	ctx, stop := appkit.SignalContext()
	defer stop()
	if err := appkit.ListenAndServe(ctx, appkit.NewHTTPServer(h, logger), *listen, logger); err != nil {
		logger.Error("exit", "err", err)
		stop()
		os.Exit(1)
	}
}
