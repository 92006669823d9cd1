/* Test helpers: see support.h. */
#define _GNU_SOURCE
#include "tests/support/support.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

extern char **environ;

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "test support: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(1);
}

static const char *admin_dsn(void)
{
    const char *dsn = getenv("EIMD_TEST_DSN");
    if (!dsn || !*dsn)
        die("EIMD_TEST_DSN is not set: run the suite through tests/run");
    return dsn;
}

char *test_pg_query_value(const char *dsn, const char *sql)
{
    PGconn *conn = PQconnectdb(dsn);
    char *value = NULL;
    if (PQstatus(conn) == CONNECTION_OK) {
        PGresult *res = PQexec(conn, sql);
        ExecStatusType st = PQresultStatus(res);
        if (st == PGRES_TUPLES_OK)
            value = strdup(PQntuples(res) > 0 ? PQgetvalue(res, 0, 0) : "");
        else if (st == PGRES_COMMAND_OK)
            value = strdup("");
        else
            fprintf(stderr, "test support: %s: %s", sql, PQresultErrorMessage(res));
        PQclear(res);
    } else {
        fprintf(stderr, "test support: connect: %s", PQerrorMessage(conn));
    }
    PQfinish(conn);
    return value;
}

void test_pg_exec(const char *dsn, const char *sql)
{
    char *v = test_pg_query_value(dsn, sql);
    if (!v)
        die("SQL failed: %s", sql);
    free(v);
}

long test_pg_long(const char *dsn, const char *sql)
{
    char *v = test_pg_query_value(dsn, sql);
    if (!v)
        die("SQL failed: %s", sql);
    long n = atol(v);
    free(v);
    return n;
}

char *test_pg_create_db(const char *prefix)
{
    const char *dsn = admin_dsn();
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    char name[96];
    snprintf(name, sizeof(name), "%s_%d_%ld", prefix, (int)getpid(), (long)(ts.tv_nsec % 1000000));
    char sql[160];
    snprintf(sql, sizeof(sql), "CREATE DATABASE \"%s\"", name);
    char *ok = test_pg_query_value(dsn, sql);
    if (!ok)
        die("cannot create database %s", name);
    free(ok);
    /* same server and user, another database: replace the path */
    const char *slash = strrchr(dsn, '/');
    size_t base = slash ? (size_t)(slash - dsn) : strlen(dsn);
    char *out = malloc(base + strlen(name) + 2);
    snprintf(out, base + strlen(name) + 2, "%.*s/%s", (int)base, dsn, name);
    return out;
}

void test_pg_cluster(const char *action)
{
    const char *ctl = getenv("EIMD_TEST_PG_CTL");
    const char *dir = getenv("EIMD_TEST_PG_CLUSTER");
    if (!ctl || !dir)
        die("EIMD_TEST_PG_CTL/EIMD_TEST_PG_CLUSTER not set: run through tests/run");
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "'%s' %s '%s'", ctl, action, dir);
    if (system(cmd) != 0)
        die("'%s' failed", cmd);
}

const char *test_eimd_path(void)
{
    return EIMD_BINARY_DIR "/server/eimd";
}

pid_t test_spawn(char *const argv[], char *const extra_env[], const char *log_path)
{
    pid_t pid = fork();
    if (pid < 0)
        die("fork: %s", strerror(errno));
    if (pid > 0)
        return pid;
    for (char *const *e = extra_env; e && *e; e++)
        putenv(*e);
    if (log_path) {
        int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
    }
    execve(argv[0], argv, environ);
    _exit(127);
}

int test_wait(pid_t pid, int timeout_ms)
{
    for (int waited = 0; waited <= timeout_ms; waited += 10) {
        int status;
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid) {
            if (WIFEXITED(status))
                return WEXITSTATUS(status);
            if (WIFSIGNALED(status))
                return 128 + WTERMSIG(status);
        }
        usleep(10000);
    }
    return -1;
}

int test_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = 0};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0 ||
        getsockname(fd, (struct sockaddr *)&addr, &len) != 0)
        die("cannot find a free port");
    close(fd);
    return ntohs(addr.sin_port);
}

ssize_t test_http_raw(int port, const char *request, size_t request_len, char *response,
                      size_t response_size, int timeout_ms)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0) {
        close(fd);
        return -1;
    }
    size_t sent = 0;
    while (sent < request_len) {
        ssize_t n = send(fd, request + sent, request_len - sent, MSG_NOSIGNAL);
        if (n <= 0)
            break;
        sent += (size_t)n;
    }
    size_t got = 0;
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    while (got + 1 < response_size) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        long elapsed = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
        if (elapsed >= timeout_ms)
            break;
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        if (poll(&pfd, 1, (int)(timeout_ms - elapsed)) <= 0)
            break;
        ssize_t n = recv(fd, response + got, response_size - 1 - got, 0);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    response[got] = '\0';
    close(fd);
    return (ssize_t)got;
}

int test_http_get(int port, const char *path, char *body, size_t body_size)
{
    char request[512];
    int len = snprintf(request, sizeof(request),
                       "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", path);
    char response[65536];
    ssize_t n = test_http_raw(port, request, (size_t)len, response, sizeof(response), 5000);
    int status;
    if (n <= 0 || sscanf(response, "HTTP/1.1 %d", &status) != 1)
        return -1;
    if (body && body_size) {
        const char *start = strstr(response, "\r\n\r\n");
        snprintf(body, body_size, "%s", start ? start + 4 : "");
    }
    return status;
}

int test_http_wait_status(int port, const char *path, int want, int timeout_ms)
{
    int status = -1;
    for (int waited = 0; waited <= timeout_ms; waited += 50) {
        status = test_http_get(port, path, NULL, 0);
        if (status == want)
            break;
        usleep(50000);
    }
    return status;
}

char *test_read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *data = malloc((size_t)size + 1);
    size_t n = fread(data, 1, (size_t)size, f);
    data[n] = '\0';
    fclose(f);
    return data;
}

const char *test_path(const char *dir, const char *name)
{
    static struct {
        const char *name;
        char path[256];
    } slots[32];
    size_t i = 0;
    while (i < 32 && slots[i].name && strcmp(slots[i].name, name) != 0)
        i++;
    if (i == 32)
        die("test_path: more than 32 names");
    slots[i].name = name;
    snprintf(slots[i].path, sizeof(slots[i].path), "%s/%s", dir, name);
    return slots[i].path;
}

void test_dump_log(const char *path)
{
    char *log = test_read_file(path);
    fprintf(stderr, "--- %s ---\n%s--- end ---\n", path, log ? log : "(none)");
    free(log);
}
