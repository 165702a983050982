package portal

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/smtp"
	"strings"

	"github.com/connectd/connectd"
)

// LogMailer is the development mailer: it writes login codes to the log
// instead of sending them. Use SMTPMailer in production.
type LogMailer struct{ Logger *slog.Logger }

func (m LogMailer) SendLoginCode(ctx context.Context, to, code string, project *connectd.Project) error {
	m.Logger.WarnContext(ctx, "development mailer: login code (configure SMTP to send it by email instead)",
		"to", maskEmail(to), "code", code)
	return nil
}

// SMTPMailer sends login codes through an SMTP server.
type SMTPMailer struct {
	Addr     string // host:port
	From     string
	Username string
	Password string
}

func (m SMTPMailer) SendLoginCode(ctx context.Context, to, code string, project *connectd.Project) error {
	if strings.ContainsAny(to, "\r\n") || strings.ContainsAny(m.From, "\r\n") {
		return fmt.Errorf("smtp: refusing an address with a line break")
	}
	name := project.Name
	if project.Settings.DisplayName != "" {
		name = project.Settings.DisplayName
	}
	name = strings.NewReplacer("\r", " ", "\n", " ").Replace(name)
	msg := "From: " + m.From + "\r\n" +
		"To: " + to + "\r\n" +
		"Subject: Your " + name + " sign-in code\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\n" +
		"\r\n" +
		"Your sign-in code is " + code + ".\r\n\r\nIt works for 10 minutes. If you did not ask for it, ignore this email.\r\n"
	var auth smtp.Auth
	if m.Username != "" {
		host, _, _ := net.SplitHostPort(m.Addr)
		auth = smtp.PlainAuth("", m.Username, m.Password, host)
	}
	return smtp.SendMail(m.Addr, auth, m.From, []string{to}, []byte(msg))
}
