/*
 * A small HTTP/1.1 server for the operator's plain endpoints (/metrics,
 * /healthz, /readyz): one thread, GET and HEAD only, one request per
 * connection, bounded request size and time, so that a slow or hostile
 * client cannot hold it or grow its memory.
 */
#ifndef FL_OP_HTTPD_H
#define FL_OP_HTTPD_H

#include <stddef.h>

#include "buf.h"

typedef struct fl_httpd fl_httpd;

/*
 * Answers one request: path is the request target without the query.
 * Writes the body into body, sets *content_type (a static string; NULL
 * for text/plain) and returns the HTTP status code.  Called from the
 * server's thread.
 */
typedef int fl_httpd_handler(void *arg, const char *path, struct fl_buf *body,
			     const char **content_type);

/*
 * Listens on addr ("127.0.0.1:8080", ":8080" for every address,
 * "[::1]:0" for any free port) and serves in a new thread.  Returns the
 * server, or NULL with a message in err (naming the address) when it
 * cannot listen.
 */
fl_httpd *fl_httpd_start(const char *addr, fl_httpd_handler *handler, void *arg,
			 char *err, size_t errlen);

/* The port it listens on (useful after ":0"). */
int fl_httpd_port(const fl_httpd *h);

/* Stops the thread, closes the socket and frees h. */
void fl_httpd_stop(fl_httpd *h);

#endif
