package cost

import (
	"fmt"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"

	"github.com/cloudlabs/cloudlabs/components/offline"
)

// AWSElasticIP is the Elastic IP resource type.
const AWSElasticIP = "aws:ec2/eip:Eip"

// Usage is what a stack runs that costs money.
type Usage struct {
	Platform   string
	Region     string          // "" when the resources do not say
	Instances  map[string]int  // by instance or machine type
	Disks      map[string]Disk // by volume or disk type
	PublicIPv4 int             // addresses in use
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
	u := Usage{Platform: platform, Instances: map[string]int{}, Disks: map[string]Disk{}}
	for _, r := range rs {
		var err error
		switch r.Type {
		case offline.AWSInstance:
			err = u.addAWSInstance(r)
		case AWSElasticIP:
			// An Elastic IP on an instance replaces that instance's own
			// public address (still one address); a loose one costs the
			// same hourly price on its own.
			if v, ok := r.Inputs["instance"]; !ok || v.IsNull() {
				u.PublicIPv4++
			}
		case offline.GCPInstance:
			err = u.addGCPInstance(r)
		}
		if err != nil {
			return Usage{}, fmt.Errorf("%s %s: %w", r.Type, r.Name, err)
		}
	}
	return u, nil
}

func (u *Usage) addAWSInstance(r offline.Resource) error {
	itype := r.Str("instanceType")
	if itype == "" {
		return fmt.Errorf("no instanceType")
	}
	u.Instances[itype]++
	// EC2's default root volume is the image's: the platform always sets
	// it, so a missing one is a change this estimate does not know.
	size, dtype := field(r.Inputs, "rootBlockDevice", "volumeSize"), field(r.Inputs, "rootBlockDevice", "volumeType")
	if !size.IsNumber() || !dtype.IsString() {
		return fmt.Errorf("no rootBlockDevice volumeSize and volumeType")
	}
	u.addDisk(dtype.StringValue(), int(size.NumberValue()))
	if v := r.Inputs["associatePublicIpAddress"]; v.IsBool() && v.BoolValue() {
		u.PublicIPv4++
	}
	return nil
}

func (u *Usage) addGCPInstance(r offline.Resource) error {
	mtype := r.Str("machineType")
	if mtype == "" {
		return fmt.Errorf("no machineType")
	}
	u.Instances[mtype]++
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
				u.PublicIPv4 += len(ac.ArrayValue())
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
