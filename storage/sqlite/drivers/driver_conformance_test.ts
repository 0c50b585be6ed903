import { driverConformance } from "./driver_conformance.ts";
import { openFfi } from "./ffi.ts";
import { openNodeSqlite } from "./node_sqlite.ts";

driverConformance("ffi", openFfi);
driverConformance("node:sqlite", openNodeSqlite);
