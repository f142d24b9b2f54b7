#ifndef SY_VERSION_H
#define SY_VERSION_H
#define SY_VERSION "0.1.0"
#endif
