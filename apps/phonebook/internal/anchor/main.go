// Command anchor is the benchmark yardstick for the phone book: the barest
// Go net/http handler answering every request with a fixed contact JSON,
// served with the same production timeouts (appkit.NewHTTPServer).
//
// scripts/bench-phonebook.sh reports the phone book's cached GET /get/<name>
// requests per second as a ratio to this program's, measured in the same run.
package main

import (
	"flag"
	"net/http"
	"os"

	"github.com/cloudlabs/cloudlabs/internal/appkit"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:8081", "address to serve on")
	body := flag.String("body", `{"name":"John Doe","number":"+358408053254"}`+"\n", "the fixed JSON reply")
	flag.Parse()
	reply := []byte(*body)
	logger := appkit.NewLogger("anchor")
	h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(reply)
	})
	ctx, stop := appkit.SignalContext()
	defer stop()
	if err := appkit.ListenAndServe(ctx, appkit.NewHTTPServer(h, logger), *listen, logger); err != nil {
		logger.Error("exit", "err", err)
		stop()
		os.Exit(1)
	}
}
