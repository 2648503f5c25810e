package protocol

// Op is a text protocol command.
type Op uint8

// The commands cachenode understands.
const (
	OpGet Op = iota + 1
	OpGets
	OpGat
	OpGats
	OpSet
	OpAdd
	OpReplace
	OpAppend
	OpPrepend
	OpCas
	OpDelete
	OpIncr
	OpDecr
	OpTouch
	OpFlushAll
	OpStats
	OpVersion
	OpVerbosity
	OpQuit
)

// lookupOp maps a command name to its Op; a switch compiles to a few
// length and byte compares, cheaper than hashing the name for a map.
func lookupOp(name []byte) (Op, bool) {
	switch string(name) {
	case "get":
		return OpGet, true
	case "gets":
		return OpGets, true
	case "gat":
		return OpGat, true
	case "gats":
		return OpGats, true
	case "set":
		return OpSet, true
	case "add":
		return OpAdd, true
	case "replace":
		return OpReplace, true
	case "append":
		return OpAppend, true
	case "prepend":
		return OpPrepend, true
	case "cas":
		return OpCas, true
	case "delete":
		return OpDelete, true
	case "incr":
		return OpIncr, true
	case "decr":
		return OpDecr, true
	case "touch":
		return OpTouch, true
	case "flush_all":
		return OpFlushAll, true
	case "stats":
		return OpStats, true
	case "version":
		return OpVersion, true
	case "verbosity":
		return OpVerbosity, true
	case "quit":
		return OpQuit, true
	}
	return 0, false
}

// IsStorage reports whether op carries a data block.
func (op Op) IsStorage() bool { return op >= OpSet && op <= OpCas }

// Command is one parsed request. Slices point into the parser's buffers and
// are valid only until the next call to Parser.Next, except Value, which is
// freshly allocated for every storage command and may be kept.
type Command struct {
	Op      Op
	Keys    [][]byte // get, gets, gat, gats: every key; others: Keys[0]
	Flags   uint32
	Exptime int64 // storage, touch, gat, gats; flush_all delay
	Value   []byte
	Cas     uint64
	Delta   uint64
	NoReply bool
	Args    [][]byte // stats subcommand and arguments
}

// Key is the single key of a non-retrieval command.
func (c *Command) Key() []byte {
	if len(c.Keys) == 0 {
		return nil
	}
	return c.Keys[0]
}
