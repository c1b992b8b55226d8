# Configuration checks of the security directives: each refuses bad values
# at `nginx -t` with a message naming it, and accepts its documented forms.
use Test::NgxWs;
use Test::More;
use File::Path qw(make_path remove_tree);

my $prefix = repo_root() . '/t/servroot/025-security-config';

# `nginx -t` on a config with $location_body in one location and
# $http_body in the http block; returns (exit code, output).
sub nginx_t {
    my ($location_body, $http_body) = @_;
    remove_tree($prefix);
    make_path("$prefix/conf", "$prefix/logs");
    my $module = module_path();
    open my $fh, '>', "$prefix/conf/nginx.conf" or die $!;
    print $fh <<"CONF";
load_module $module;
pid logs/nginx.pid;
error_log logs/error.log;
events {}
http {
    client_body_temp_path $prefix/body;
    proxy_temp_path $prefix/proxy;
    fastcgi_temp_path $prefix/fastcgi;
    uwsgi_temp_path $prefix/uwsgi;
    scgi_temp_path $prefix/scgi;
    access_log off;
    ${\ ($http_body // '') }
    server {
        listen 127.0.0.1:${\ test_port() };
        location /ws {
            $location_body
        }
    }
}
CONF
    close $fh;
    my $bin = nginx_bin();
    my $out = `$bin -t -p $prefix/ -c conf/nginx.conf 2>&1`;
    return ($? >> 8, $out);
}

our @good = (
    ['ws_listen; ws_allowed_origins https://a.example.com http://localhost:8080 *.example.org https://*.example.net:8443 null;'],
    ['ws_listen; ws_allowed_origins "~^https://[a-z]+\.example\.com$" "~*^HTTPS://X$";'],
    ['ws_listen; ws_allowed_origins "https://[::1]:8080";'],
    ['ws_listen;', 'ws_allowed_origins https://a.example.com;'],
    ['ws_listen; ws_subprotocols chat.v1 mqtt graphql-ws;'],
    ['ws_listen; ws_subprotocols chat; ws_subprotocol_required on;'],
);

# [location body, http body, message that must appear]
our @bad = (
    ['ws_listen; ws_allowed_origins null; ws_allowed_origins null;', undef,
     qr/"ws_allowed_origins" directive is duplicate/],
    ['ws_listen; ws_allowed_origins app.example.com;', undef,
     qr/origin "app.example.com" in "ws_allowed_origins" needs a scheme/],
    ['ws_listen; ws_allowed_origins https://;', undef,
     qr/invalid origin "https:\/\/" in "ws_allowed_origins"/],
    ['ws_listen; ws_allowed_origins https://a.example.com/path;', undef,
     qr/invalid origin "https:\/\/a.example.com\/path" in "ws_allowed_origins"/],
    ['ws_listen; ws_allowed_origins https://a.example.com:http;', undef,
     qr/invalid origin "https:\/\/a.example.com:http" in "ws_allowed_origins"/],
    ['ws_listen; ws_allowed_origins https://a.*.example.com;', undef,
     qr/"\*" may only stand for the leading labels/],
    ['ws_listen; ws_allowed_origins "~(";', undef,
     qr/invalid regex "~\(" in "ws_allowed_origins"/],
    ['ws_listen; ws_allowed_origins "~";', undef,
     qr/empty regex in "ws_allowed_origins"/],
    ['ws_listen; ws_subprotocols "a b";', undef,
     qr/invalid protocol "a b" in "ws_subprotocols": it must be an HTTP token/],
    ['ws_listen; ws_subprotocols chat/1;', undef,
     qr/invalid protocol "chat\/1" in "ws_subprotocols"/],
    ['ws_listen; ws_subprotocols a; ws_subprotocols b;', undef,
     qr/"ws_subprotocols" directive is duplicate/],
    ['ws_listen; ws_subprotocol_required on;', undef,
     qr/"ws_subprotocol_required on" needs "ws_subprotocols"/],
    ['ws_listen; ws_subprotocol_required yes;', undef,
     qr/invalid value "yes" in "ws_subprotocol_required"/],
);

{
    my ($rc, $out) = nginx_t('ws_listen;',
                             'include ' . repo_root() . '/conf_examples/secure.conf;');
    is($rc, 0, 'conf_examples/secure.conf passes nginx -t') or diag($out);
}

for my $case (@good) {
    my ($rc, $out) = nginx_t(@$case);
    is($rc, 0, "accepted: $case->[0]") or diag($out);
}

for my $case (@bad) {
    my ($loc, $http, $re) = @$case;
    my ($rc, $out) = nginx_t($loc, $http);
    isnt($rc, 0, "refused: $loc") or diag($out);
    like($out, $re, "message for: $loc");
}

done_testing();
