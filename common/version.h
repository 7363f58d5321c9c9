/*
 * sluice's version, shown by `sluice -v`, in the master's start line and by
 * sluice-stat.
 */
#ifndef SLUICE_VERSION_H
#define SLUICE_VERSION_H

#define SLUICE_VERSION	"0.3.0"

#endif
