package main

import (
	"fmt"
	"reflect"
	"regexp"
	"strings"
)

// secretKey matches the config keys whose string values are secrets.
var secretKey = regexp.MustCompile(`(?i)(token|secret|password|passwd|credential)`)

// configSecrets returns every non-empty string in cfg held under a key
// that names a secret (auth.publish_token, auth.streams.*.token, a TURN
// credential, ...), whatever section declares it.
func configSecrets(cfg any) []string {
	var out []string
	var walk func(v reflect.Value, secret bool)
	walk = func(v reflect.Value, secret bool) {
		switch v.Kind() {
		case reflect.Pointer, reflect.Interface:
			if !v.IsNil() {
				walk(v.Elem(), secret)
			}
		case reflect.Struct:
			t := v.Type()
			for i := 0; i < t.NumField(); i++ {
				f := t.Field(i)
				if !f.IsExported() {
					continue
				}
				name := strings.Split(f.Tag.Get("yaml"), ",")[0]
				if name == "" {
					name = f.Name
				}
				walk(v.Field(i), secret || secretKey.MatchString(name))
			}
		case reflect.Map:
			iter := v.MapRange()
			for iter.Next() {
				k := fmt.Sprint(iter.Key().Interface())
				walk(iter.Value(), secret || secretKey.MatchString(k))
			}
		case reflect.Slice, reflect.Array:
			for i := 0; i < v.Len(); i++ {
				walk(v.Index(i), secret)
			}
		case reflect.String:
			if secret && v.String() != "" {
				out = append(out, v.String())
			}
		}
	}
	walk(reflect.ValueOf(cfg), false)
	return out
}
