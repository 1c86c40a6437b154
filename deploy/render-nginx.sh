#!/bin/sh
# Render the nginx site from its template with the SURVEY_* variables below (nginx's own $variables stay).
#   SURVEY_SERVER_NAME=survey.example.gov.cn SURVEY_PUBLIC_URL=https://survey.example.gov.cn \
#   SURVEY_HTTP_LISTEN=80 SURVEY_HTTPS_LISTEN=443 \
#   SURVEY_TLS_CERT=/etc/ssl/survey/fullchain.pem SURVEY_TLS_KEY=/etc/ssl/survey/privkey.pem \
#   SURVEY_STATIC_ROOT=/opt/survey-app/survey_app/static \
#   SURVEY_UPSTREAMS='server 10.0.0.11:8000; server 10.0.0.12:8000;' \
#   deploy/render-nginx.sh > /etc/nginx/sites-available/survey-app
set -eu
for name in SURVEY_SERVER_NAME SURVEY_PUBLIC_URL SURVEY_HTTP_LISTEN SURVEY_HTTPS_LISTEN SURVEY_TLS_CERT \
            SURVEY_TLS_KEY SURVEY_STATIC_ROOT SURVEY_UPSTREAMS; do
  eval "value=\${$name:-}"
  if [ -z "$value" ]; then echo "render-nginx.sh: $name is not set" >&2; exit 1; fi
done
exec envsubst '$SURVEY_SERVER_NAME $SURVEY_PUBLIC_URL $SURVEY_HTTP_LISTEN $SURVEY_HTTPS_LISTEN $SURVEY_TLS_CERT $SURVEY_TLS_KEY $SURVEY_STATIC_ROOT $SURVEY_UPSTREAMS' \
  < "$(dirname "$0")/nginx/survey-app.conf.template"
