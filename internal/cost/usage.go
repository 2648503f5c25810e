package cost

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"

	"github.com/cloudlabs/cloudlabs/components/offline"
)

// Resource types beyond machines that cost money, and how the platforms
// mark what they make (components/aws, components/gcp).
const (
	AWSElasticIP   = "aws:ec2/eip:Eip"
	AWSDatabase    = "aws:rds/instance:Instance"
	AWSBucket      = "aws:s3/bucketV2:BucketV2"
	AWSRolePolicy  = "aws:iam/rolePolicy:RolePolicy"
	GCPDatabase    = "gcp:sql/databaseInstance:DatabaseInstance"
	GCPBucket      = "gcp:storage/bucket:Bucket"
	GCPInstanceIAM = "gcp:compute/instanceIAMMember:InstanceIAMMember"

	// The data buckets' tag (AWS) and label (GCP); the artifact bucket has
	// neither.
	AWSDataBucketTag   = "cloudlabs:bucket"
	GCPDataBucketLabel = "cloudlabs-bucket"
	// The instances' group tag, which a controller's policy names (AWS).
	AWSGroupTag = "cloudlabs:group"
)

// Usage is what a stack runs that costs money.
type Usage struct {
	Platform   string
	Region     string          // "" when the resources do not say
	Instances  map[string]int  // by instance or machine type, slots excluded
	Disks      map[string]Disk // by volume or disk type, slots' included
	PublicIPv4 int             // addresses in use, slots' excluded
	// Slots are the instances another machine starts and stops (the
	// pool's), by type: how many run is run-time state (ActiveSlots).
	Slots    map[string]int
	SlotIPv4 int // slots with a public address while they run
	// ActiveSlots is how many slots are priced as running; the others are
	// stopped (their disks cost, their compute and address do not).
	ActiveSlots int
	Databases   map[string]int  // by class or tier
	DBStorage   map[string]Disk // by storage type
	DataBuckets int
}

// Disk is the volumes of one type.
type Disk struct {
	Count int
	GB    int
}

// Measure reads the usage from the resources the program declared. Only
// machines cost money here: networks, firewalls and gateways are free, and
// the artifact buckets hold a few MB (see the README's "not priced").
func Measure(platform string, rs []offline.Resource) (Usage, error) {
	u := Usage{Platform: platform, Instances: map[string]int{}, Disks: map[string]Disk{}, Slots: map[string]int{},
		Databases: map[string]int{}, DBStorage: map[string]Disk{}}
	slot := controlled(rs)
	for _, r := range rs {
		var err error
		switch r.Type {
		case offline.AWSInstance:
			err = u.addAWSInstance(r, slot(r))
		case AWSDatabase:
			err = u.addDatabase(r.Str("instanceClass"), field(r.Inputs, "storageType"), field(r.Inputs, "allocatedStorage"))
		case GCPDatabase:
			err = u.addDatabase(fieldOf(field(r.Inputs, "settings"), "tier").StringValue(),
				field(r.Inputs, "settings", "diskType"), field(r.Inputs, "settings", "diskSize"))
		case AWSBucket:
			if field(r.Inputs, "tags", AWSDataBucketTag).IsString() {
				u.DataBuckets++
			}
		case GCPBucket:
			if field(r.Inputs, "labels", GCPDataBucketLabel).IsString() {
				u.DataBuckets++
			}
		case AWSElasticIP:
			// An Elastic IP on an instance replaces that instance's own
			// public address (still one address); a loose one costs the
			// same hourly price on its own.
			if v, ok := r.Inputs["instance"]; !ok || v.IsNull() {
				u.PublicIPv4++
			}
		case offline.GCPInstance:
			err = u.addGCPInstance(r, slot(r))
		}
		if err != nil {
			return Usage{}, fmt.Errorf("%s %s: %w", r.Type, r.Name, err)
		}
	}
	return u, nil
}

// controlled tells the instances some machine may start and stop: on
// AWS those whose group a role policy's tag condition names, on GCP those
// an instance IAM binding names (resource <controller>-controls-<machine>).
func controlled(rs []offline.Resource) func(offline.Resource) bool {
	groups, machines := map[string]bool{}, map[string]bool{}
	for _, r := range rs {
		switch r.Type {
		case AWSRolePolicy:
			var doc struct {
				Statement []struct {
					Action    []string
					Condition map[string]map[string]string
				}
			}
			if json.Unmarshal([]byte(r.Str("policy")), &doc) != nil {
				continue
			}
			for _, st := range doc.Statement {
				if g, ok := st.Condition["StringEquals"]["aws:ResourceTag/"+AWSGroupTag]; ok && slices.Contains(st.Action, "ec2:StartInstances") {
					groups[g] = true
				}
			}
		case GCPInstanceIAM:
			if _, m, ok := strings.Cut(r.Name, "-controls-"); ok {
				machines[m] = true
			}
		}
	}
	return func(r offline.Resource) bool {
		if r.Type == offline.GCPInstance {
			return machines[r.Name]
		}
		g := field(r.Inputs, "tags", AWSGroupTag)
		return g.IsString() && groups[g.StringValue()]
	}
}

func (u *Usage) addDatabase(class string, storageType, gb resource.PropertyValue) error {
	if class == "" || !storageType.IsString() || !gb.IsNumber() {
		return fmt.Errorf("no class, storage type and size")
	}
	u.Databases[class]++
	d := u.DBStorage[storageType.StringValue()]
	d.Count++
	d.GB += int(gb.NumberValue())
	u.DBStorage[storageType.StringValue()] = d
	return nil
}

func (u *Usage) addAWSInstance(r offline.Resource, slot bool) error {
	itype := r.Str("instanceType")
	if itype == "" {
		return fmt.Errorf("no instanceType")
	}
	if slot {
		u.Slots[itype]++
	} else {
		u.Instances[itype]++
	}
	// EC2's default root volume is the image's: the platform always sets
	// it, so a missing one is a change this estimate does not know.
	size, dtype := field(r.Inputs, "rootBlockDevice", "volumeSize"), field(r.Inputs, "rootBlockDevice", "volumeType")
	if !size.IsNumber() || !dtype.IsString() {
		return fmt.Errorf("no rootBlockDevice volumeSize and volumeType")
	}
	u.addDisk(dtype.StringValue(), int(size.NumberValue()))
	if v := r.Inputs["associatePublicIpAddress"]; v.IsBool() && v.BoolValue() {
		if slot {
			u.SlotIPv4++
		} else {
			u.PublicIPv4++
		}
	}
	return nil
}

func (u *Usage) addGCPInstance(r offline.Resource, slot bool) error {
	mtype := r.Str("machineType")
	if mtype == "" {
		return fmt.Errorf("no machineType")
	}
	if slot {
		u.Slots[mtype]++
	} else {
		u.Instances[mtype]++
	}
	size, dtype := field(r.Inputs, "bootDisk", "initializeParams", "size"), field(r.Inputs, "bootDisk", "initializeParams", "type")
	if !size.IsNumber() || !dtype.IsString() {
		return fmt.Errorf("no bootDisk.initializeParams size and type")
	}
	u.addDisk(dtype.StringValue(), int(size.NumberValue()))
	// One external address per access config, ephemeral or a static
	// Address it uses: both are "in use" and priced alike.
	if nics := r.Inputs["networkInterfaces"]; nics.IsArray() {
		for _, nic := range nics.ArrayValue() {
			if ac := fieldOf(nic, "accessConfigs"); ac.IsArray() {
				if slot {
					u.SlotIPv4 += len(ac.ArrayValue())
				} else {
					u.PublicIPv4 += len(ac.ArrayValue())
				}
			}
		}
	}
	if zone := r.Str("zone"); zone != "" && u.Region == "" {
		u.Region = zone[:max(strings.LastIndex(zone, "-"), 0)]
	}
	return nil
}

func (u *Usage) addDisk(dtype string, gb int) {
	d := u.Disks[dtype]
	d.Count++
	d.GB += gb
	u.Disks[dtype] = d
}

// field walks nested object inputs; a missing step gives a null value.
func field(m resource.PropertyMap, path ...string) resource.PropertyValue {
	return fieldOf(resource.NewObjectProperty(m), path...)
}

func fieldOf(v resource.PropertyValue, path ...string) resource.PropertyValue {
	for _, k := range path {
		v = unwrap(v)
		if !v.IsObject() {
			return resource.NewNullProperty()
		}
		next, ok := v.ObjectValue()[resource.PropertyKey(k)]
		if !ok {
			return resource.NewNullProperty()
		}
		v = next
	}
	return unwrap(v)
}

func unwrap(v resource.PropertyValue) resource.PropertyValue {
	if v.IsSecret() {
		return v.SecretValue().Element
	}
	return v
}
